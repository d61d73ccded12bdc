/**
 * Stage 2 of a fold's training: the epoch's training steps. The epoch's samples are drawn up front (case,
 * foreground flag, per-sample seed), so the generator's state at the end of the epoch does not depend on how
 * batches are produced; each step (forward/backward with deep supervision, one optimizer update) is the engine's.
 * While the engine works on a step, the sample pool's workers cut and augment the next batches.
 */
import type { Random } from '@mednext-ts/tensor3d';
import type { SamplePool, SampleRequest } from '../sample-pool.js';
import type { FoldRun } from './prepare.js';

/** The batches of one epoch: `iterations` x `batchSize` sample requests drawn from `rng`. */
export function drawEpochSamples(
  rng: Random,
  trainIds: readonly string[],
  iterations: number,
  batchSize: number,
  foregroundFraction: number,
): SampleRequest[][] {
  return Array.from({ length: iterations }, () =>
    Array.from({ length: batchSize }, () => ({
      id: trainIds[rng.int(0, trainIds.length - 1)]!,
      forceForeground: rng.chance(foregroundFraction),
      seed: rng.nextUint32(),
    })),
  );
}

/** GPU figures of an epoch's steps (GPU engines). */
export interface EpochGpuStats {
  /** Mean and largest GPU idle time per step, milliseconds. */
  gpuIdleMsMean: number;
  gpuIdleMsMax: number;
  /** Most GPU bytes allocated at once in any step of the epoch. */
  gpuPeakBytes: number;
}

/** What the training half of an epoch returns. */
export interface EpochTraining {
  lossSum: number;
  /** Present when the engine reports GPU figures. */
  gpu?: EpochGpuStats;
}

/**
 * The training half of an epoch: draws its samples, queues them on `pool` and runs every step on the run's
 * engine, stopping after the current step when `options.signal` aborts. Returns the summed loss (and the GPU
 * figures of GPU engines), or null when aborted.
 */
export async function trainEpoch(
  run: FoldRun,
  rng: Random,
  pool: SamplePool,
  epoch: number,
): Promise<EpochTraining | null> {
  const { options, engine } = run;
  engine.startEpoch(epoch, options.epochs);
  engine.train();
  pool.setQueue(
    drawEpochSamples(rng, run.trainIds, options.iterationsPerEpoch, options.batchSize, run.foregroundFraction),
  );
  let lossSum = 0;
  let idleSum = 0;
  let idleMax = 0;
  let peak = 0;
  let gpuSteps = 0;
  for (let it = 0; it < options.iterationsPerEpoch; it++) {
    if (options.signal?.aborted) return null;
    const report = await engine.step(await pool.take(), { epoch, iteration: it });
    lossSum += report.loss;
    if (report.gpuIdleMs !== undefined) {
      gpuSteps++;
      idleSum += report.gpuIdleMs;
      idleMax = Math.max(idleMax, report.gpuIdleMs);
      peak = Math.max(peak, report.peakBytes ?? 0);
    }
    options.onIteration?.({
      epoch,
      iteration: it + 1,
      iterations: options.iterationsPerEpoch,
      loss: report.loss,
      ...(report.gpuIdleMs !== undefined ? { gpuIdleMs: report.gpuIdleMs, peakBytes: report.peakBytes } : {}),
    });
  }
  const gpu =
    gpuSteps > 0 ? { gpuIdleMsMean: idleSum / gpuSteps, gpuIdleMsMax: idleMax, gpuPeakBytes: peak } : undefined;
  return gpu ? { lossSum, gpu } : { lossSum };
}
