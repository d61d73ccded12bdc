/**
 * Mirror test-time augmentation: predict on every mirrored copy of a window and average.
 */
import {
  allMirrorCombinations,
  flipSpatial,
  type PatchPredictor,
  type Shape3,
  type SpatialAxis,
} from '@mednext-ts/tensor3d';

/** Options of {@link withMirrorTTA}. */
export interface MirrorTTAOptions {
  /** Window size `[px, py, pz]` of the batches the predictor receives. */
  patchSize: Shape3;
  /** Spatial axes that may be mirrored; default all three, giving 8 combinations. */
  axes?: SpatialAxis[];
}

/**
 * Wraps a predictor so that each batch is predicted once per mirror combination of `axes`
 * (2^axes.length passes, the identity included): the windows are mirrored, predicted, the
 * prediction is mirrored back and the passes are averaged with equal weight, as nnU-Net's
 * mirroring TTA. Works on any leading `[count, channels]` layout because only the three
 * trailing spatial axes are flipped.
 */
export function withMirrorTTA(predict: PatchPredictor, options: MirrorTTAOptions): PatchPredictor {
  const combos = allMirrorCombinations(options.axes ?? [0, 1, 2]);
  const spatial = options.patchSize;
  return async (patches, count) => {
    let sum: Float32Array | undefined;
    for (const axes of combos) {
      const input = axes.length === 0 ? patches : flipSpatial(patches, spatial, axes);
      const raw = await predict(input, count);
      const pred = axes.length === 0 ? raw : flipSpatial(raw, spatial, axes);
      if (!sum) sum = Float32Array.from(pred);
      else {
        if (pred.length !== sum.length)
          throw new RangeError(
            `withMirrorTTA: predictor returned ${pred.length} values for mirror [${axes}], ${sum.length} before`,
          );
        for (let i = 0; i < sum.length; i++) sum[i]! += pred[i]!;
      }
    }
    const inv = 1 / combos.length;
    for (let i = 0; i < sum!.length; i++) sum![i]! *= inv;
    return sum!;
  };
}
