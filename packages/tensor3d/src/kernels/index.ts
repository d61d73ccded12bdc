/**
 * Fast CPU kernels for MedNeXt in WebAssembly SIMD (generated at load time), with optional worker threads.
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
  mednextBlock,
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
  type MedNeXtBlockWeights,
  type BlockTailWeights,
  type MedNeXtBlockOptions,
  type PackedBlockWeights,
  type PackedTailWeights,
  type BlockInMemory,
} from './block.js';
export { blockTailForward, blockTailBackward, type BlockTailGrads } from './block-train.js';
export { transposeMatrix } from './layout.js';
export { gridAddInMemory, gridGatherInMemory, type GridWindow } from './grid.js';
export { fusedBlock, fusedBlockAvailable, blockWeightsFromTorch, type TorchBlockParams } from './block-tfjs.js';
