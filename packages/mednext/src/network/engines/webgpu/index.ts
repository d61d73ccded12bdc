/** The WebGPU engine of MedNeXt (see {@link createWebGpuNetwork}). */
export {
  createWebGpuNetwork,
  type WebGpuNetwork,
  type WebGpuNetworkOptions,
  type WebGpuForwardOptions,
} from './network.js';
export type { ActivationStorage } from './backward.js';
export { WebGpuEngine, gpuValue, type GpuValue, type BlockPath } from './engine.js';
