/**
 * A loss that has no GPU kernels (any {@link LossFn}, e.g. a plugin's) for the GPU trainer: the heads' logits
 * are read back, the deep-supervision loss and its gradient w.r.t. every head are taken with tfjs on the host,
 * exactly as the CPU training step computes them (channels-last batch, `targetPyramid`, `deepSupervisionLoss`),
 * and the gradients go back per sample, channels-first, to be uploaded for the backward pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import { deepSupervisionLoss, targetPyramid, type LossFn } from '../../losses/deep-supervision.js';
import { levelSize, type BatchShape } from './batch.js';

/** Value and gradients of a host loss. */
export interface HostLossResult {
  loss: number;
  /** `[sample][level]`: dLoss/dlogits, channels-first `[C, d, h, w]`. */
  grads: Float32Array[][];
}

/**
 * @param logits `[sample][level]` channels-first head outputs `[classes, d, h, w]`
 * @param y the batch's channels-last targets `[N, D, H, W, R]`
 * @param weights one per level (full resolution first)
 */
export function hostLossGradients(
  lossFn: LossFn,
  logits: Float32Array[][],
  y: Float32Array,
  shape: BatchShape,
  weights: readonly number[],
): HostLossResult {
  const levels = weights.length;
  const { batch, regions } = shape;
  const sizes = Array.from({ length: levels }, (_, l) => levelSize(shape.spatial, l));
  return tf.tidy(() => {
    const target = tf.tensor5d(y, [batch, ...shape.spatial, regions]);
    const targets = levels > 1 ? targetPyramid(target, levels) : [target];
    const heads = sizes.map((size, l) => {
      const vox = size[0] * size[1] * size[2];
      const whole = new Float32Array(batch * regions * vox);
      for (let n = 0; n < batch; n++) whole.set(logits[n]![l]!, n * regions * vox);
      return tf.transpose(tf.tensor5d(whole, [batch, regions, ...size]), [0, 2, 3, 4, 1]);
    });
    const { value, grads } = tf.valueAndGrads((...outs: tf.Tensor[]) =>
      deepSupervisionLoss(outs, targets, lossFn, [...weights]),
    )(heads);
    const loss = value.dataSync()[0]!;
    const perSample: Float32Array[][] = Array.from({ length: batch }, () => []);
    for (const g of grads) {
      const first = tf.transpose(g, [0, 4, 1, 2, 3]).dataSync() as Float32Array;
      const per = first.length / batch;
      for (let n = 0; n < batch; n++) perSample[n]!.push(first.slice(n * per, (n + 1) * per));
    }
    return { loss, grads: perSample };
  });
}
