/**
 * @mednext-ts/tensor3d: 3-D volumes and the operations on them, the compute layer (tfjs backend selection), the
 * tfjs ops the project adds (depthwise 3-D convolution with gradients), and the project's own WebAssembly SIMD
 * kernels (namespaced as `wasmKernels`). The volume operations alone, without tfjs, are the
 * `@mednext-ts/tensor3d/volume` entry.
 *
 * @example
 * ```ts
 * import { selectBackend, wasmKernels } from '@mednext-ts/tensor3d';
 *
 * const choice = await selectBackend('auto'); // { backend, reason, fastKernels, ... }
 * const rt = wasmKernels.getKernelRuntime();
 * const y = wasmKernels.matmulBias(rt, x, m, k, w, n, { bias, gelu: true });
 * ```
 */

// typed errors
export { Tensor3dError, type Tensor3dErrorCode } from './errors.js';

// compute layer: backend selection and what this runtime offers
export {
  selectBackend,
  BackendUnavailableError,
  BACKEND_HINTS,
  type BackendAttempt,
  type BackendChoice,
  type BackendName,
  type BackendPreference,
  type FastKernelsState,
  type SelectBackendOptions,
  type ModuleImporter,
  isNode,
  hasWasmSimd,
  hasWasmRelaxedSimd,
  hasWasmThreads,
  hardwareConcurrency,
  installWebGpu,
  type WebGpuProbe,
  describeGpuAdapter,
  isSoftwareAdapterName,
  KEY_GPU_LIMITS,
  type AdapterLike,
  type GpuAdapterDescription,
} from './compute/index.js';

// volume operations (also the tfjs-free `@mednext-ts/tensor3d/volume` entry)
export * from './volume/index.js';

// tfjs ops: depthwise 3-D convolution (forward, transposed, gradients) and the gradients tfjs lacks
export {
  depthwiseConv3d,
  depthwiseConvTranspose3d,
  type DepthwiseConv3dOptions,
  type DepthwiseConvTranspose3dOptions,
  DepthwiseConv3D,
  DepthwiseConv3DBackpropInput,
  DepthwiseConv3DBackpropFilter,
  DEPTHWISE_CONV3D_KERNEL_NAMES,
  type DepthwiseConv3DAttrs,
  type DepthwiseConv3DBackpropInputAttrs,
  type DepthwiseConv3DBackpropFilterAttrs,
  registerDepthwiseConv3dKernels,
  depthwiseConv3dReference,
  depthwiseConv3dBackpropInputReference,
  depthwiseConv3dBackpropFilterReference,
  type Shape4,
  type Shape5,
  convOutLength,
  convTransposeOutLength,
  registerCoreGradients,
  hasCoreGradients,
} from './ops/index.js';

/** The WebAssembly SIMD kernels (namespaced: their array-level names overlap the tfjs ops). */
export * as wasmKernels from './kernels/index.js';
export {
  registerFastKernels,
  unregisterFastKernels,
  enableFastKernels,
  createKernelRuntime,
  setKernelRuntime,
  KernelRuntime,
} from './kernels/index.js';
