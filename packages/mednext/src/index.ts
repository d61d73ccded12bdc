/**
 * @mednext-ts/mednext: MedNeXt v1 networks, weights I/O, training, inference and ensembling.
 */
export * from './tasks/index.js';
export * from './model/index.js';
export * from './weights/index.js';
export * from './io/index.js';
export * from './inference/index.js';
export * from './postprocess/index.js';
export * from './losses/index.js';
export * from './data/index.js';
export * from './demo/index.js';
export * from './training/index.js';
export * from './export/index.js';
export * from './seed-paper/index.js';
export * from './evaluation/index.js';
export {
  createWebGpuNetwork,
  type WebGpuNetwork,
  type WebGpuNetworkOptions,
  type WebGpuForwardOptions,
} from './network/engines/webgpu/index.js';
