/**
 * Fast CPU kernels in WebAssembly SIMD (generated at load time from the kernel table), with optional worker
 * threads: depthwise 3-D convolution, GEMM, GELU, per-channel norm, the fused inverted-bottleneck block
 * (depthwise conv -> norm -> 1x1 expand -> GELU -> 1x1 compress) and strided-grid copies.
 */
export {
  createKernelRuntime,
  createKernelRuntimeSync,
  KernelRuntime,
  type KernelRuntimeOptions,
  type KernelProfileEntry,
  type KernelRange,
} from './runtime.js';
export type { KernelArg, KernelArgType, KernelArgs, KernelDefinition, KernelMode } from './wasm/kernel-def.js';
export { KERNEL_TABLE, kernelDefinition, type KernelTable } from './wasm/table.js';
export {
  depthwiseConv3d,
  depthwiseConvTranspose3d,
  convOutSize,
  convTransposeOutSize,
  depthwiseInMemory,
  depthwiseConv3dFilterGrad,
  type DepthwiseFilterGradArgs,
  type DepthwiseInMemory,
  type DepthwiseConv3dArgs,
  type Shape5,
  type Tensor5,
} from './depthwise.js';
export {
  matmulBias,
  packPanels,
  gemmInMemory,
  packGemmWeights,
  freeGemmWeights,
  type MatmulOptions,
  type GemmPointers,
  type PackedGemmWeights,
} from './pointwise.js';
export {
  gelu,
  channelStats,
  channelAffine,
  normAffine,
  groupNormPerChannel,
  channelStatsInMemory,
  type ChannelStats,
  type ChannelAffine,
} from './normact.js';
export {
  depthwiseReference,
  depthwiseFilterGradReference,
  matmulReference,
  geluReference,
  erfReference,
} from './reference.js';
export { hasRelaxedSimd, hasWasmSimd128 } from './wasm/module.js';
export {
  registerFastKernels,
  enableFastKernels,
  unregisterFastKernels,
  fastKernelsActive,
  setKernelRuntime,
  getKernelRuntime,
  withHostArrays,
  FAST_KERNEL_BACKENDS,
  FAST_KERNEL_NAMES,
  type RegisterFastKernelsOptions,
} from './tfjs.js';
export {
  invertedBottleneck,
  blockTileRows,
  blockOutSpatial,
  blockInMemory,
  blockInSlabs,
  type BlockInSlabs,
  packBlockWeights,
  freeBlockWeights,
  packTailWeights,
  freeTailWeights,
  blockTailInMemory,
  type InvertedBottleneckWeights,
  type BlockTailWeights,
  type InvertedBottleneckOptions,
  type PackedBlockWeights,
  type PackedTailWeights,
  type BlockInMemory,
} from './block.js';
export { blockTailForward, blockTailBackward, type BlockTailGrads } from './block-train.js';
export { transposeMatrix } from './layout.js';
export { gridAddInMemory, gridGatherInMemory, type GridWindow } from './grid.js';
export { fusedBlock, fusedBlockAvailable } from './block-tfjs.js';
