/**
 * Stage 4 of a fold's training: save and restore. After each epoch the `last` checkpoint, the `best` one when the
 * validation Dice improved, the log, the plot and, last of all, the resume file; before the first epoch of a
 * resumed run, the state that resume file holds.
 */
import { Random } from '@mednext-ts/tensor3d';
import { checkpointMetadata, type TrainingCheckpointInfo } from '../../../checkpoint/metadata.js';
import { encodeCheckpoint, encodeResume, type ResumeState } from '../../../checkpoint/codec.js';
import { getStateDict, loadStateDict } from '../../../weights/state-dict.js';
import { renderTrainingPlot, type EpochLogEntry } from '../../plot.js';
import type { FoldRun } from './prepare.js';

/** The loop's state between epochs (what the resume file stores). */
export interface LoopState {
  rng: Random;
  /** First epoch still to train. */
  startEpoch: number;
  best: { dice: number | null; epoch: number | null };
  log: EpochLogEntry[];
}

/**
 * The loop's starting state: fresh from `options.seed`, or with `options.resume` the weights, optimizer state,
 * data RNG, best score and log restored from the fold's resume file. The log file is then rewritten, so that a
 * resumed run's log equals an uninterrupted run's (a line of an epoch the resume file does not cover is dropped).
 *
 * @throws MedNeXtError `RESUME_MISSING` when resuming a fold without a resume file
 */
export async function restoreRun(run: FoldRun): Promise<LoopState> {
  const { options, model, files } = run;
  const state: LoopState = { rng: new Random(options.seed), startEpoch: 0, best: { dice: null, epoch: null }, log: [] };
  if (options.resume) {
    const r = await run.run.readResume(run.fold);
    loadStateDict(model, r.weights, { source: files.resume });
    await run.engine.restore(r.weights, r.optimizer);
    state.rng = Random.fromState(r.state.rng);
    state.startEpoch = r.state.epoch + 1;
    state.best = { dice: r.state.bestDice, epoch: r.state.bestEpoch };
    state.log = await run.run.readLog(run.fold, r.state.epoch);
    options.onMessage?.(`resuming ${files.dir} after epoch ${r.state.epoch}`);
  }
  await run.run.writeLog(run.fold, state.log);
  return state;
}

/** What a checkpoint of this run records at `epoch`. */
function checkpointInfo(run: FoldRun, epoch: number, valDiceMean: number | null): TrainingCheckpointInfo {
  return {
    task: run.task.id,
    regions: run.task.regions,
    modalities: run.task.modalities,
    patchSize: run.options.patchSize,
    normalization: run.normalization,
    fold: run.fold,
    epoch,
    valDiceMean,
    training: run.record,
  };
}

/**
 * Saves epoch `entry.epoch` (already appended to `state.log`, `state.best` already updated): the checkpoints, the
 * log, the plot, and the resume file last, so that if the process dies before it is replaced, resuming redoes
 * this epoch (its log line is dropped on resume) and the log never misses or repeats an epoch.
 */
export async function saveEpoch(run: FoldRun, state: LoopState, entry: EpochLogEntry): Promise<void> {
  const { options, fold } = run;
  // The engine is in eval mode (validation): its evaluation parameters go into the model the files are written from.
  await run.engine.syncModel();
  const weights = getStateDict(run.model);
  const metadata = checkpointMetadata(options.model, checkpointInfo(run, entry.epoch, entry.valDiceMean));
  await run.run.writeCheckpoint(fold, 'last', encodeCheckpoint(weights, metadata));
  // Without validation cases there is no best epoch: the last epoch's weights are the best ones.
  if (entry.best || (run.valIds.length === 0 && entry.epoch === options.epochs - 1)) {
    await run.run.writeCheckpoint(fold, 'best', encodeCheckpoint(weights, metadata));
  }
  await run.run.writeLog(fold, state.log);
  await run.run.writePlot(fold, renderTrainingPlot(state.log, `${run.task.id} fold ${fold}`));
  const resume: ResumeState = {
    epoch: entry.epoch,
    rng: state.rng.getState(),
    bestDice: state.best.dice,
    bestEpoch: state.best.epoch,
  };
  const optimizerState = await run.engine.saveOptimizerState();
  await run.run.writeResume(fold, encodeResume(weights, optimizerState, resume, metadata));
}
