/**
 * Training, the Node parts: the fold training loop ({@link trainFold}, in stages under `stages/`), the run
 * folder's files ({@link RunFiles}), the split of a run, the loss table plugins add to, and the engines the steps
 * run on (tfjs, WebGPU).
 */
export { trainFold } from './trainer.js';
export type { InitSource, TrainOptions, TrainResult } from './train-options.js';
export { FOLD_FILES, RunFiles, SPLITS_FILE, type CheckpointChoice, type FoldFiles } from './run-files.js';
export { loadOrCreateSplits } from './stages/prepare.js';
export { lossByName, registerLoss } from './stages/losses.js';
export {
  checkEngineSettings,
  createTrainingEngine,
  TfjsTrainingEngine,
  WebGpuTrainingEngine,
  type EngineSetup,
  type EngineStepReport,
  type TrainingEngine,
  type TrainingEngineName,
} from './engines/index.js';
export type { EpochGpuStats, EpochTraining } from './stages/train-step.js';
