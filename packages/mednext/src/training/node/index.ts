export * from './case-store.js';
export * from './trainer.js';
export * from './sample-pool.js';
