/** Inference: mirror TTA, ensembling, sharding (sliding windows live in @mednext-ts/tensor3d). */
export * from './case-files.js';
export * from './checkpoint.js';
export * from './ensemble.js';
export * from './shard.js';
export * from './tta.js';
export * from './pipeline.js';
export * from './predictor.js';
export * from './case-pipelines.js';
export * from './case-images.js';
export { onWebGpu, webGpuPredictor } from './webgpu-predictor.js';
