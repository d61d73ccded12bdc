export * from './backend.js';
export * from './environment.js';
export * from './optional-import.js';
export { installWebGpu, type WebGpuProbe } from './webgpu-adapter.js';
export * from './gpu-adapter-info.js';
