/**
 * Stage 3 of a fold's training: validation at the optimizer's evaluation weights (Schedule-Free x), on the run's
 * engine. `patch`
 * scores one fixed, tumour-centred patch per validation case (fast; nnU-Net's per-epoch "pseudo Dice" is on
 * patches too) and its loss; `whole` runs sliding-window inference (overlap 0.5) over every validation case, as
 * prediction does, without a loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import { slidingWindowInference } from '@mednext-ts/tensor3d';
import { labelsToRegions } from '../../../data/regions.js';
import { toChannelsLast, validationPatch } from '../../../data/sampling.js';
import { RegionDiceAccumulator } from '../../metrics.js';
import type { CaseStore } from '../case-store.js';
import type { FoldRun } from './prepare.js';

/** Validation scores of one epoch. */
export interface ValidationResult {
  /** Dice per region (null where no case has the region). */
  valDice: Record<string, number | null>;
  valDiceMean: number | null;
  /** Mean loss over the validation patches; null for whole-case validation or without validation cases. */
  valLoss: number | null;
}

/** Scores the model on the fold's validation cases (switches the engine to its evaluation weights first). */
export async function validateEpoch(run: FoldRun, store: CaseStore): Promise<ValidationResult> {
  const { options, task, engine, valIds } = run;
  const [px, py, pz] = options.patchSize;
  const nIn = task.modalities.length;
  const nOut = task.regions.length;
  engine.eval();
  const acc = new RegionDiceAccumulator(task.regions.map((r) => r.name));
  let lossSum = 0;
  for (const id of valIds) {
    const stored = await store.get(id);
    if (run.validation === 'whole') {
      const probs = await slidingWindowInference(stored.case.image, engine.predictor(options.patchSize), {
        patchSize: options.patchSize,
        outChannels: nOut,
        overlap: 0.5,
      });
      const target = labelsToRegions(stored.case.labels.data, task.regions);
      const shape = stored.case.labels.shape;
      acc.add(toChannelsLast(probs), toChannelsLast({ data: target, shape: [nOut, ...shape] }));
      continue;
    }
    const v = validationPatch(stored.case, options.patchSize, task.regions);
    const x = tf.tensor5d(toChannelsLast(v.image), [1, px, py, pz, nIn]);
    const yArr = new Float32Array(toChannelsLast(v.target));
    const y = tf.tensor5d(yArr, [1, px, py, pz, nOut]);
    const logits = await engine.validationLogits(x);
    const l = run.lossFn(logits, y);
    const probs = tf.sigmoid(logits);
    acc.add(await probs.data(), yArr);
    lossSum += (await l.data())[0]!;
    tf.dispose([x, y, logits, l, probs]);
  }
  return {
    valDice: acc.dice(),
    valDiceMean: acc.meanDice(),
    valLoss: valIds.length > 0 && run.validation === 'patch' ? lossSum / valIds.length : null,
  };
}
