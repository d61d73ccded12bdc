export * from './case-store.js';
export * from './trainer.js';
