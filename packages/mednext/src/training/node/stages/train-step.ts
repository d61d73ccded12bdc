/**
 * Stage 2 of a fold's training: the epoch's training steps. The epoch's samples are drawn up front (case,
 * foreground flag, per-sample seed), so the generator's state at the end of the epoch does not depend on how
 * batches are produced; each step (forward/backward with deep supervision, one optimizer update) is the engine's.
 * While the engine works on a step, the sample pool's workers cut and augment the next batches.
 */
import type { Random } from '@mednext-ts/tensor3d';
import type { EngineStepReport } from '../engines/types.js';
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
 * engine (up to `engine.stepsInFlight` at once, reported in order), stopping after the steps under way when
 * `options.signal` aborts. Returns the summed loss (and the GPU
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
  // Steps submitted and not yet reported, oldest first: an engine that queues work (the GPU) gets the next
  // batch while it still runs the previous step, so it need not wait for the host between steps.
  const inFlight: Promise<EngineStepReport>[] = [];
  const depth = Math.max(1, engine.stepsInFlight);
  let reported = 0;
  const reportOldest = async (): Promise<void> => {
    const report = await inFlight.shift()!;
    lossSum += report.loss;
    if (report.gpuIdleMs !== undefined) {
      gpuSteps++;
      idleSum += report.gpuIdleMs;
      idleMax = Math.max(idleMax, report.gpuIdleMs);
      peak = Math.max(peak, report.peakBytes ?? 0);
    }
    options.onIteration?.({
      epoch,
      iteration: ++reported,
      iterations: options.iterationsPerEpoch,
      loss: report.loss,
      ...(report.gpuIdleMs !== undefined ? { gpuIdleMs: report.gpuIdleMs, peakBytes: report.peakBytes } : {}),
    });
  };
  try {
    for (let it = 0; it < options.iterationsPerEpoch; it++) {
      if (options.signal?.aborted) {
        while (inFlight.length > 0) await reportOldest();
        return null;
      }
      inFlight.push(engine.step(await pool.take(), { epoch, iteration: it }));
      if (inFlight.length >= depth) await reportOldest();
    }
    while (inFlight.length > 0) await reportOldest();
  } catch (error) {
    // Steps queued behind a failed one fail too: the first error is the one to report. They are let settle
    // first, so that none is still queued on the engine when the caller disposes of it.
    await Promise.allSettled(inFlight);
    throw error;
  }
  const gpu =
    gpuSteps > 0 ? { gpuIdleMsMean: idleSum / gpuSteps, gpuIdleMsMax: idleMax, gpuPeakBytes: peak } : undefined;
  return gpu ? { lossSum, gpu } : { lossSum };
}
