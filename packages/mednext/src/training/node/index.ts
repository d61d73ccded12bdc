/**
 * Training, the Node parts: the fold training loop ({@link trainFold}, in stages under `stages/`), the run
 * folder's files ({@link RunFiles}), the split of a run, and the loss table plugins add to.
 */
export { trainFold } from './trainer.js';
export type { InitSource, TrainOptions, TrainResult } from './train-options.js';
export { FOLD_FILES, RunFiles, SPLITS_FILE, type CheckpointChoice, type FoldFiles } from './run-files.js';
export { loadOrCreateSplits } from './stages/prepare.js';
export { lossByName, registerLoss } from './stages/losses.js';
