/**
 * Training data (browser-safe): preprocessing of one case, normalisation, region targets, patch sampling,
 * augmentation, cross-validation folds and the `.npy` cache encoding. The on-disk cache, dataset discovery
 * and the preprocessing runner: `@mednext-ts/mednext/node`.
 */
// The training augmentation pipeline and its presets.
export {
  AUGMENTATION_PRESETS,
  type AugmentationConfig,
  augmentPatch,
  DEFAULT_AUGMENTATION,
  drawSpatialTransform,
  NO_AUGMENTATION,
  PAPER_AUGMENTATION,
  type RandomRange,
} from './augmentation.js';
// Deterministic k-fold cross-validation splits, stratified by data source.
export { checkSplits, type Fold, makeFolds, type SplitCase, type SplitsFile } from './folds.js';
// Non-finite input voxels (NaN, ±Infinity).
export {
  type CaseChannels,
  checkFiniteInput,
  countNonFinite,
  describeCount,
  type NonFiniteCount,
  NonFiniteInputError,
  type NonFinitePolicy,
} from './non-finite.js';
// `.npy` encoding of the preprocessing cache.
export { type CacheDtype, type DecodedNpy, decodeNpy, encodeNpy } from './npy-volume.js';
// The built-in normalisation methods (declared by name in the task API).
export { normalizationFromRecord, normalizeChannel } from './normalization.js';
// Preprocessing of one case, in memory.
export {
  CACHE_VERSION,
  type CachedCaseMeta,
  type ModalityStats,
  preprocessCaseArrays,
  type PreprocessCaseOptions,
  type PreprocessedArrays,
  type RawCase,
} from './preprocess-case.js';
// Region targets from label maps.
export { checkLabels, labelsToRegions } from './regions.js';
// Training patch sampling (foreground-biased, nnU-Net style).
export {
  foregroundIndex,
  type ForegroundIndex,
  type Sample,
  type SampleOptions,
  samplePatch,
  toChannelsLast,
  type TrainingCase,
  validationPatch,
} from './sampling.js';
