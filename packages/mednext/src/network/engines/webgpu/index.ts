/** The WebGPU engine of MedNeXt (see {@link createWebGpuNetwork}). */
export {
  createWebGpuNetwork,
  type WebGpuNetwork,
  type WebGpuNetworkOptions,
  type WebGpuForwardOptions,
} from './network.js';
export { WebGpuEngine, type GpuValue } from './engine.js';
