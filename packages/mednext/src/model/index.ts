export * from './config.js';
export * from './architecture.js';
export * from './layers.js';
export * from './mednext.js';
export * from './summary.js';
export * from './run-arrays.js';
export * from './fused-blocks.js';
