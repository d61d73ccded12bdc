/**
 * Postprocessing: thresholds, minimum component sizes and named steps per region, regions back to labels,
 * and the grid search that tunes these settings on cross-validation predictions.
 */
// Postprocessing settings and their defaults.
export {
  parsePostprocessConfig,
  parseRegionValues,
  type PostprocessConfig,
  type RegionOverrides,
  type RegionPostprocess,
  resolvePostprocess,
} from './config.js';
// Binarised regions back to a label map in the task's convention.
export { labelMapToRegions, regionsToLabelMap } from './labels.js';
// Region probabilities to a label map.
export { binarize, postprocessRegions, probabilitiesToLabels, removeSmallComponents } from './postprocess.js';
// Grid search of postprocessing settings on cross-validation probability maps.
export {
  type CaseScore,
  type CaseScorer,
  type TuneCase,
  type TuneGrid,
  tunePostprocess,
  type TuneResult,
} from './tune.js';
// The built-in postprocessing steps (declared by name in the task API) and their application.
export { applyPostprocessSteps, fillHoles, keepLargestComponent } from './steps.js';
