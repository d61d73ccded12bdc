/** Node helpers of inference: case inputs, outputs, checkpoints. */
export * from './checkpoint.js';
export * from './inputs.js';
export * from './outputs.js';
export * from './demo-model.js';
