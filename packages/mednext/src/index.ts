/**
 * @mednext-ts/mednext: MedNeXt v1 networks, weights I/O, training, inference and ensembling.
 *
 * Every folder's `index.ts` lists its exports by name, grouped and commented; this root entry re-exports
 * those folder indexes whole (`export *` of a sub-index that is itself an explicit list), so what is public
 * is decided in one place per folder. Internals (the kernel-heap network, fused training blocks, the ONNX
 * protobuf writer, the ZIP and pickle readers, ...) are not exported; tests import them from their files.
 * Node-only parts (files, worker threads) are in `@mednext-ts/mednext/node`; the light task plugin API is
 * also `@mednext-ts/mednext/tasks`.
 *
 * @example
 * import { MedNeXt, planForward, segmentCase } from '@mednext-ts/mednext';
 */
// Typed errors callers can branch on.
export { MedNeXtError, isMedNeXtError, type MedNeXtErrorCode } from './errors.js';
// Folder indexes, each an explicit list (see each index.ts).
export * from './checkpoint/index.js';
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
export * from './network/index.js';
export * from './seed-paper/index.js';
export * from './evaluation/index.js';
// The WebGPU network engine.
export {
  createWebGpuNetwork,
  type WebGpuNetwork,
  type WebGpuNetworkOptions,
  type WebGpuForwardOptions,
  type ActivationStorage,
} from './network/engines/webgpu/index.js';
// Training on a GPU through the WebGPU engine.
export {
  createWebGpuTrainer,
  type WebGpuTrainer,
  type WebGpuTrainerOptions,
  type WebGpuStepReport,
} from './training/webgpu/index.js';
