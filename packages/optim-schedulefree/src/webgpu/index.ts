/**
 * `@mednext-ts/optim-schedulefree/webgpu`: the Schedule-Free AdamW and SGD updates as WGSL compute
 * kernels on a caller's `GPUDevice` (WebGPU in browsers, Dawn in Node). Kept out of the package
 * root so that the CPU optimizers never load GPU code. The kernels are declared with
 * `@mednext-ts/tensor3d/webgpu`'s kernel layer (that subpath loads no tfjs).
 */
export {
  WebGPUScheduleFreeOptimizer,
  WebGPUAdamWScheduleFree,
  WebGPUSGDScheduleFree,
  type WebGPUParameter,
  type WebGPUGradients,
  type WebGPUOptimizerOptions,
} from './webgpu-optimizer.js';
export {
  ADAMW_STEP_KERNEL,
  SGD_STEP_KERNEL,
  INTERPOLATE_KERNEL,
  adamwStepUniforms,
  sgdStepUniforms,
  interpolateUniforms,
  recordElementwise,
} from './update-kernels.js';
