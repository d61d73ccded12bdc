/**
 * The seed paper's inference conventions (BioMedIA-MBZUAI's BraTS 2024 code), kept apart from
 * the project's own: used only by task variants that name the `seed-paper` pipeline
 * (`ssa-paper`, `ped-paper`), to run the team's released checkpoints as their code does. The stages are
 * exported; their building blocks (MONAI window placement, the intensity cast, the component filter) are not.
 */
// The seed paper's conventions as data (regions, labels, windows).
export {
  SEED_CV_POSTPROCESS,
  SEED_MODALITIES,
  SEED_PED_LABEL_MAPPINGS,
  SEED_PED_PAPER_POSTPROCESS,
  SEED_REGIONS,
  SEED_SSA_PAPER_POSTPROCESS,
  SEED_SUBMISSION_POSTPROCESS,
  SEED_WINDOW,
  seedPostprocessPreset,
} from './conventions.js';
// The seed paper's preprocessing (`dataset_preprocessing.py:preprocess_sample`), for inference.
export { seedPreprocess, type SeedPreprocessed } from './preprocess.js';
// The seed paper's `InferenceModule` forward pass and weighted ensemble.
export {
  SEED_TTA_FLIPS,
  type SeedInferenceOptions,
  seedModelProbabilities,
  seedWeightedEnsemble,
} from './inference.js';
// The seed paper's postprocessing (`biomedmbz_glioma/postprocessing.py`, submission path).
export {
  seedPostprocess,
  type SeedPostprocessResult,
  type SeedPostprocessSettings,
  type SeedRegionSettings,
} from './postprocess.js';
// One case through the seed paper's code path, end to end.
export {
  seedEnsembleProbabilities,
  seedLabelsFromProbabilities,
  seedSettingsFrom,
  segmentCaseSeedPaper,
} from './pipeline.js';
