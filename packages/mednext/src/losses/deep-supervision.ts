/**
 * Deep-supervision weighting and target pyramid as nnU-Net v1 builds them for MedNeXt.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * nnU-Net's deep-supervision weights for `outputs` network outputs (full resolution first).
 * The MedNeXt trainers declare one more pooling level than there are outputs, so nnU-Net builds
 * raw weights 1, 1/2, ..., 1/2^outputs, zeroes the last and normalises to sum 1:
 * for 5 outputs, `[16, 8, 4, 2, 1] / 31`.
 */
export function deepSupervisionWeights(outputs = 5): number[] {
  const raw = Array.from({ length: outputs }, (_, i) => 1 / 2 ** i);
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / sum);
}

/**
 * Source index of each output voxel of an order-0 (nearest) resize from `n` to `m` voxels as
 * skimage does it: `round((i + 0.5) · n/m − 0.5)` with halves rounded up, clamped to [0, n−1].
 * For an exact factor f this is `f·i + f/2`.
 */
export function nearestIndices(n: number, m: number): number[] {
  return Array.from({ length: m }, (_, i) => Math.min(n - 1, Math.max(0, Math.floor((i + 0.5) * (n / m) - 0.5 + 0.5))));
}

/**
 * Downsamples a target (NDHWC) by `factor` on every spatial axis with nearest-neighbour
 * resampling from the full-resolution target (new size = round(size / factor)), as nnU-Net does.
 */
export function downsampleTarget(target: tf.Tensor5D, factor: number): tf.Tensor5D {
  if (factor === 1) return tf.clone(target);
  return tf.tidy(() => {
    let y: tf.Tensor = target;
    for (let axis = 1; axis <= 3; axis++) {
      const n = y.shape[axis];
      const m = Math.round(n / factor);
      const idx = tf.tensor1d(nearestIndices(n, m), 'int32');
      // Gather on a rank-3 [before, n, after] view: portable to every backend.
      const before = y.shape.slice(0, axis).reduce((a, b) => a * b, 1);
      const after = y.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const picked = tf.gather(tf.reshape(y, [before, n, after]), idx, 1);
      y = tf.reshape(
        picked,
        y.shape.map((d, i) => (i === axis ? m : d)),
      );
    }
    return y as tf.Tensor5D;
  });
}

/** Targets for every deep-supervision output: factors 1, 2, 4, ... (full resolution first). */
export function targetPyramid(target: tf.Tensor5D, outputs = 5): tf.Tensor5D[] {
  return Array.from({ length: outputs }, (_, i) => downsampleTarget(target, 2 ** i));
}

/** A per-output loss. */
export type LossFn = (logits: tf.Tensor, target: tf.Tensor) => tf.Scalar;

/**
 * Weighted sum over deep-supervision outputs: `Σ w_i · loss(outputs[i], targets[i])`.
 * @param weights defaults to {@link deepSupervisionWeights} for the number of outputs
 */
export function deepSupervisionLoss(
  outputs: tf.Tensor[],
  targets: tf.Tensor[],
  loss: LossFn,
  weights: number[] = deepSupervisionWeights(outputs.length),
): tf.Scalar {
  if (outputs.length !== targets.length || outputs.length !== weights.length) {
    throw new Error(
      `deepSupervisionLoss: ${outputs.length} outputs, ${targets.length} targets and ${weights.length} weights must match`,
    );
  }
  return tf.tidy(() => {
    let total: tf.Tensor = tf.scalar(0);
    outputs.forEach((o, i) => {
      if (weights[i] !== 0) total = tf.add(total, tf.mul(loss(o, targets[i]), weights[i]));
    });
    return total as tf.Scalar;
  });
}
