export * from './augmentation.js';
export * from './folds.js';
export * from './non-finite.js';
export * from './npy-volume.js';
export * from './normalization.js';
export * from './preprocess-case.js';
export * from './regions.js';
export * from './sampling.js';
