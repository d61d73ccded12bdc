/** Postprocessing: thresholds, minimum component sizes, regions to labels. */
export * from './config.js';
export * from './labels.js';
export * from './postprocess.js';
export * from './tune.js';
export * from './steps.js';
