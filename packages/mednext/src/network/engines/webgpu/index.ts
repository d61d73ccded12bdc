/** The WebGPU engine of MedNeXt (see {@link createWebGpuNetwork}). */
export {
  createWebGpuNetwork,
  type WebGpuNetwork,
  type WebGpuNetworkOptions,
  type WebGpuForwardOptions,
} from './network.js';
export { WebGpuEngine, gpuValue, type GpuValue, type BlockPath } from './engine.js';
