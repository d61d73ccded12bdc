/** The region losses with deep supervision as WGSL kernels: value and gradient w.r.t. the logits. */
export {
  WebGPURegionLoss,
  type WebGPURegionLossSpec,
  type WebGPURegionLossOptions,
  type WebGPURegionLossInputs,
} from './webgpu-region-loss.js';
export {
  REGION_LOSS_PARTIALS_KERNEL,
  REGION_LOSS_REDUCE_KERNEL,
  REGION_LOSS_COMBINE_KERNEL,
  REGION_LOSS_GRADIENT_KERNEL,
} from './region-loss-kernels.js';
