export * from './cache.js';
export * from './discover.js';
export * from './preprocess.js';
