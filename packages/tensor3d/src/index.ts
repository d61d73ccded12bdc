/**
 * @mednext-ts/tensor3d: 3-D volumes, volume operations, and the compute layer
 * (tfjs backend selection and the project's own kernels).
 */
export * from './compute/index.js';
export * from './volume/index.js';
export * from './ops/index.js';
/** The WebAssembly SIMD kernels (namespaced: their array-level names overlap the tfjs ops). */
export * as wasmKernels from './kernels/index.js';
export {
  registerFastKernels,
  unregisterFastKernels,
  createKernelRuntime,
  setKernelRuntime,
  KernelRuntime,
} from './kernels/index.js';
