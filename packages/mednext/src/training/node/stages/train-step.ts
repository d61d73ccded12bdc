/**
 * Stage 2 of a fold's training: the epoch's training steps. The epoch's samples are drawn up front (case,
 * foreground flag, per-sample seed), so the generator's state at the end of the epoch does not depend on how
 * batches are produced; each step is one forward/backward pass with deep supervision and one optimizer update.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Random } from '@mednext-ts/tensor3d';
import { MedNeXtError } from '../../../errors.js';
import { deepSupervisionLoss, deepSupervisionWeights, targetPyramid } from '../../../losses/deep-supervision.js';
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

/**
 * One training step on a batch (channels-last patches): forward with deep supervision, loss, gradients of the
 * trainable variables, optimizer update. Returns the loss.
 *
 * @throws MedNeXtError `TRAINING_DIVERGED` when the loss is not finite
 */
export async function trainStep(
  run: FoldRun,
  batch: { x: Float32Array; y: Float32Array },
  where: { epoch: number; iteration: number },
): Promise<number> {
  const { options, model, deepSupervision, lossFn } = run;
  const [px, py, pz] = options.patchSize;
  const x = tf.tensor5d(batch.x, [options.batchSize, px, py, pz, run.task.modalities.length]);
  const y = tf.tensor5d(batch.y, [options.batchSize, px, py, pz, run.task.regions.length]);
  const targets = deepSupervision ? targetPyramid(y, 5) : [y];
  const { value, grads } = tf.variableGrads(() => {
    const outputs = model.forward(x, { training: true, deepSupervision });
    return deepSupervisionLoss(outputs, targets, lossFn, deepSupervision ? deepSupervisionWeights(5) : [1]);
  }, run.trainable);
  for (const name of Object.keys(grads)) if (!run.trainableNames.has(name)) delete grads[name];
  run.optimizer.applyGradients(grads);
  const loss = (await value.data())[0]!;
  tf.dispose([x, y, value, ...targets, ...Object.values(grads)]);
  if (!Number.isFinite(loss))
    throw new MedNeXtError(
      'TRAINING_DIVERGED',
      `epoch ${where.epoch} iteration ${where.iteration}: the loss is ${loss}; lower the learning rate`,
    );
  return loss;
}

/**
 * The training half of an epoch: draws its samples, queues them on `pool` and runs every step, stopping after
 * the current step when `options.signal` aborts. Returns the summed loss, or null when aborted.
 */
export async function trainEpoch(run: FoldRun, rng: Random, pool: SamplePool, epoch: number): Promise<number | null> {
  const { options, optimizer } = run;
  optimizer.startEpoch(epoch, options.epochs);
  optimizer.train();
  pool.setQueue(
    drawEpochSamples(rng, run.trainIds, options.iterationsPerEpoch, options.batchSize, run.foregroundFraction),
  );
  let lossSum = 0;
  for (let it = 0; it < options.iterationsPerEpoch; it++) {
    if (options.signal?.aborted) return null;
    const loss = await trainStep(run, await pool.take(), { epoch, iteration: it });
    lossSum += loss;
    options.onIteration?.({ epoch, iteration: it + 1, iterations: options.iterationsPerEpoch, loss });
  }
  return lossSum;
}
