/**
 * Training, the platform-neutral parts: the optimizers, fine-tuning's layer selection, validation Dice, the
 * progress plot, the resolution of training settings, and (re-exported from `checkpoint/`) the checkpoint and
 * resume files. The file-based training loop is `@mednext-ts/mednext/node` (`trainFold`).
 */
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  checkpointMetadata,
  decodeResume,
  encodeCheckpoint,
  encodeResume,
  readCheckpointMetadata,
  type ResumeState,
  type TrainingCheckpointInfo,
} from '../checkpoint/index.js';
export { decoderLayers, finetuneParameterNames, reinitializeParameters } from './finetune.js';
export { RegionDiceAccumulator } from './metrics.js';
export {
  AdamWScheduled,
  createOptimizer,
  renameOptimizerState,
  type OptimizerKind,
  type OptimizerOptions,
  type OptimizerState,
  type TrainingOptimizer,
} from './optimizer.js';
export { bestEpoch, epochTicks, renderTrainingPlot, type EpochLogEntry } from './plot.js';
export {
  TRAINING_DEFAULTS,
  defaultSamplingWorkers,
  resolveTrainingSettings,
  type FlagSettings,
  type RecipeSettings,
  type TrainingSettings,
} from './settings.js';
