/**
 * @mednext-ts/metrics: lesion-wise segmentation metrics under evaluation protocols: the BraTS 2024
 * presets (SSA and PED)
 * reproducing the official evaluation code's numbers, quirks included, with an opt-in
 * `corrected` variant. See README.md and `shared/spec/brats-metrics.md`.
 */
export * from './protocol.js';
export * from './tasks.js';
export * from './regions.js';
export * from './lesions.js';
export * from './lesion-wise.js';
export * from './whole-region.js';
export * from './evaluate.js';
export * from './report.js';
export * from './pairing.js';
