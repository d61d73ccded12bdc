/** Training on a GPU through WebGPU: {@link createWebGpuTrainer} and its contract. */
export { createWebGpuTrainer } from './webgpu-trainer.js';
export type { WebGpuStepReport, WebGpuTrainer, WebGpuTrainerOptions } from './types.js';
