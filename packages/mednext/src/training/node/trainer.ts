/**
 * The training loop of `mednext train` / `mednext finetune`, for one fold, as four stages (nnU-Net style, one
 * module each under `stages/`):
 *
 * 1. {@link prepareRun} (`stages/prepare.ts`): settings checked, split and cases, network, optimizer, initial weights;
 * 2. per epoch, {@link trainEpoch} (`stages/train-step.ts`): `engine.train()`, `iterationsPerEpoch` steps on
 *    random patches (foreground oversampled, augmented, cut in worker threads while the engine works);
 * 3. {@link validateEpoch} (`stages/validate.ts`): `engine.eval()`, validation Dice;
 * 4. {@link saveEpoch} / {@link restoreRun} (`stages/checkpoints.ts`): checkpoints `last`, `best` (by mean
 *    validation Dice), the log, the plot, the resume file; and resuming from it.
 *
 * The network runs on the engine `options.engine` names (`engines/`: tfjs, or the WebGPU trainer); the stages
 * are the same for both, and so are the files written.
 *
 * Everything random comes from one seeded generator whose state is saved with the resume file, so `resume`
 * continues exactly where the run stopped. The run folder's file names and writes are {@link RunFiles}'.
 */
import type { EpochLogEntry } from '../plot.js';
import { CaseStore } from './case-store.js';
import { SamplePool } from './sample-pool.js';
import { restoreRun, saveEpoch } from './stages/checkpoints.js';
import { prepareRun } from './stages/prepare.js';
import { trainEpoch } from './stages/train-step.js';
import { validateEpoch } from './stages/validate.js';
import type { TrainOptions, TrainResult } from './train-options.js';

/**
 * Trains one fold (see the module comment for the stages).
 *
 * @example
 * ```ts
 * const result = await trainFold({ task, cacheDir: 'cache', outDir: 'runs/a', fold: 0, model, ...settings });
 * console.log(result.bestDice, result.foldDir);
 * ```
 */
export async function trainFold(options: TrainOptions): Promise<TrainResult> {
  const run = await prepareRun(options);
  let status: TrainResult['status'] = 'completed';
  let pool: SamplePool | undefined;
  let log: EpochLogEntry[] = [];
  let best: { dice: number | null; epoch: number | null } = { dice: null, epoch: null };
  // Everything below may throw: the model and engine memory is released in `finally`.
  try {
    const state = await restoreRun(run);
    ({ log, best } = state);
    const store = new CaseStore(options.cacheDir, run.casesInMemory);
    pool = new SamplePool(
      {
        cacheDir: options.cacheDir,
        patchSize: options.patchSize,
        regions: run.task.regions,
        augmentation: run.augmentation,
        casesInMemory: run.casesInMemory,
      },
      options.samplingWorkers ?? 0,
    );
    for (let epoch = state.startEpoch; epoch < options.epochs; epoch++) {
      const t0 = performance.now();
      const trained = await trainEpoch(run, state.rng, pool, epoch);
      if (trained === null) {
        status = 'aborted';
        break;
      }
      const validation = await validateEpoch(run, store);
      const improved =
        validation.valDiceMean !== null && (state.best.dice === null || validation.valDiceMean > state.best.dice);
      if (improved) state.best = { dice: validation.valDiceMean, epoch };
      best = state.best;
      const entry: EpochLogEntry = {
        epoch,
        trainLoss: trained.lossSum / options.iterationsPerEpoch,
        valLoss: validation.valLoss,
        valDice: validation.valDice,
        valDiceMean: validation.valDiceMean,
        learningRate: run.engine.learningRate,
        seconds: (performance.now() - t0) / 1000,
        iterations: options.iterationsPerEpoch,
        best: improved,
        time: new Date().toISOString(),
        ...trained.gpu,
      };
      state.log.push(entry);
      await saveEpoch(run, state, entry);
      options.onEpoch?.(entry);
    }
  } finally {
    await pool?.close();
    run.engine.dispose();
    run.model.dispose();
  }
  return {
    foldDir: run.files.dir,
    status,
    epochsDone: log.length === 0 ? 0 : log[log.length - 1]!.epoch + 1,
    bestDice: best.dice,
    bestEpoch: best.epoch,
    log,
  };
}
