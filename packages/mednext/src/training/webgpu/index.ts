/** Training on a GPU through WebGPU: the trainer's contract (the implementation lands in webgpu-trainer.ts). */
export type { WebGpuStepReport, WebGpuTrainer, WebGpuTrainerOptions } from './types.js';
