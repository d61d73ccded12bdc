/**
 * The compute layer: tfjs backend selection with reasons, and what the runtime offers (SIMD, threads, cores).
 * Package-internal barrel; the package root re-exports the public part.
 */
export {
  selectBackend,
  BackendUnavailableError,
  BACKEND_HINTS,
  cudaDeviceVisible,
  type BackendAttempt,
  type BackendChoice,
  type BackendName,
  type BackendPreference,
  type FastKernelsState,
  type SelectBackendOptions,
} from './backend.js';
export { isNode, hasWasmSimd, hasWasmRelaxedSimd, hasWasmThreads, hardwareConcurrency } from './environment.js';
export { tryImport, defaultImporter, type ModuleImporter, type OptionalImport } from './optional-import.js';
export { installWebGpu, type WebGpuProbe } from './webgpu-adapter.js';
export {
  describeGpuAdapter,
  isSoftwareAdapterName,
  KEY_GPU_LIMITS,
  type AdapterLike,
  type GpuAdapterDescription,
} from './gpu-adapter-info.js';
