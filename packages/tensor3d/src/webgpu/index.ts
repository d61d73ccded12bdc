/// <reference types="@webgpu/types" />
/**
 * `@mednext-ts/tensor3d/webgpu`: WGSL compute kernels for channels-first 3-D volumes and the small runtime they
 * run on (device acquisition through `navigator.gpu` or the `webgpu` package, buffers, cached pipelines, one
 * command encoder per batch of work).
 *
 * @example
 * ```ts
 * import { acquireGpuDevice, GpuRuntime, depthwiseConv3d } from '@mednext-ts/tensor3d/webgpu';
 * const { device } = await acquireGpuDevice();
 * const rt = new GpuRuntime(device);
 * const x = rt.upload(volume, 'x'); // [C, D, H, W]
 * const y = rt.tensor(volume.length, 'y');
 * depthwiseConv3d(rt, { input: x, filter: rt.upload(w, 'w'), bias: rt.upload(b, 'b'), output: y,
 *   channels: C, inSize: [D, H, W], kernel: 3, stride: 1 });
 * const values = await rt.read(y);
 * ```
 */
export {
  acquireGpuDevice,
  summarizeAdapter,
  isSoftwareAdapter,
  GpuUnavailableError,
  type AcquiredGpuDevice,
  type AcquireGpuOptions,
  type GpuAdapterSummary,
} from './device.js';
export {
  defineKernel,
  kernelSource,
  packParams,
  wgslWorkgroupSum,
  type KernelDefinition,
  type ParamDecl,
  type ParamType,
  type ParamValues,
  type BindingDecl,
} from './kernel.js';
export { GpuRuntime, GpuCapacityError, type GpuTensor } from './runtime.js';
export {
  depthwiseConv3d,
  depthwiseConv3dKernel,
  depthwiseOutputSize,
  type DepthwiseConv3dArgs,
} from './kernels/depthwise-conv3d.js';
export {
  groupNormStats,
  groupNormChunkStatsKernel,
  groupNormMergeStatsKernel,
  type GroupNormStatsArgs,
} from './kernels/group-norm-stats.js';
export { groupNormApply, groupNormApplyKernel, type GroupNormApplyArgs } from './kernels/group-norm-apply.js';
export {
  invertedBottleneck,
  invertedBottleneckKernel,
  bottleneckTiles,
  bottleneckTiling,
  packBottleneckVectors,
  type InvertedBottleneckArgs,
  type InvertedBottleneckShape,
  type BottleneckVariant,
} from './kernels/inverted-bottleneck.js';
export { grnScale, grnScaleKernel, type GrnScaleArgs } from './kernels/grn-scale.js';
export { pointwiseConv3d, pointwiseConv3dKernel, type PointwiseConv3dArgs } from './kernels/pointwise-conv3d.js';
export { add, addKernel } from './kernels/add.js';
export {
  copyBlock,
  copyBlockKernel,
  gelu,
  geluKernel,
  channelSquareSums,
  channelSquareSumsKernel,
  channelAffine,
  channelAffineKernel,
  channelsPerGroup,
  type CopyBlockArgs,
  type ChannelGroupArgs,
} from './kernels/split-helpers.js';
export { sigmoid, sigmoidKernel } from './kernels/sigmoid.js';
export {
  channelsLastToFirst,
  channelsLastToFirstKernel,
  type ChannelsLastToFirstArgs,
  type ChannelsLastToFirstVariant,
} from './kernels/channels-last-to-first.js';
export { frontPaddedAdd, frontPaddedAddKernel, type FrontPaddedAddArgs } from './kernels/front-padded-add.js';
export {
  encodeKernel,
  createParamsBuffer,
  writeParams,
  paramsBytes,
  elementwiseMain,
  elementwiseGroups,
  bindingSlices,
  storageBuffer,
  readBuffer,
  collectDeviceErrors,
  ELEMENTWISE_WORKGROUP_SIZE,
  type BufferRange,
  type EncodeKernelCall,
} from './encode.js';
export {
  depthwiseConv3dInputGrad,
  depthwiseConv3dFilterGrad,
  depthwiseConv3dInputGradKernel,
  depthwiseConv3dFilterGradKernel,
  type DepthwiseGradShape,
  type DepthwiseGradVariant,
  type DepthwiseInputGradArgs,
  type DepthwiseFilterGradArgs,
} from './kernels/depthwise-conv3d-backward.js';
export {
  pointwiseConv3dInputGrad,
  pointwiseConv3dWeightGrad,
  pointwiseConv3dInputGradKernel,
  channelProductKernel,
  channelProductReduceKernel,
  channelProductChunks,
  type ChannelProductVariant,
  type AccumulateVariant,
  type PointwiseGradShape,
  type PointwiseInputGradArgs,
  type PointwiseWeightGradArgs,
} from './kernels/pointwise-conv3d-backward.js';
export {
  groupNormBackward,
  groupNormBackwardKernel,
  type GroupNormBackwardArgs,
} from './kernels/group-norm-backward.js';
export {
  invertedBottleneckBackward,
  bottleneckHiddenGradKernel,
  bottleneckGeluGradKernel,
  type BottleneckHiddenGradVariant,
  type InvertedBottleneckBackwardArgs,
} from './kernels/inverted-bottleneck-backward.js';
export {
  grnBackward,
  grnBackwardSumsKernel,
  grnBackwardCoefficientsKernel,
  grnBackwardApplyKernel,
  type GrnBackwardArgs,
} from './kernels/grn-backward.js';
export {
  frontPaddedAddBackward,
  cropStridedKernel,
  frontPaddedFillGradKernel,
  type FrontPaddedAddBackwardArgs,
} from './kernels/front-padded-add-backward.js';
export {
  packHalf,
  unpackHalf,
  halfTensor,
  packHalfKernel,
  unpackHalfKernel,
  type GpuHalfTensor,
} from './kernels/half-pack.js';
