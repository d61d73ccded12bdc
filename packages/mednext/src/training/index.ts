export * from './checkpoint.js';
export * from './finetune.js';
export * from './metrics.js';
export * from './optimizer.js';
export * from './plot.js';
