/**
 * Region probabilities to a label map: threshold, remove small components, paint labels.
 */
import { labelConnectedComponents, labelSizes, type ChannelVolume, type Shape3 } from '@mednext-ts/tensor3d';
import type { TaskDefinition } from '../tasks/index.js';
import type { RegionPostprocess } from './config.js';
import { regionsToLabelMap } from './labels.js';
import { applyPostprocessSteps } from './steps.js';

/** Mask of the voxels with `probability >= threshold`. */
export function binarize(probabilities: ArrayLike<number>, threshold: number): Uint8Array {
  const mask = new Uint8Array(probabilities.length);
  for (let i = 0; i < mask.length; i++) if (probabilities[i]! >= threshold) mask[i] = 1;
  return mask;
}

/**
 * Removes, in place, the 26-connected components of `mask` with fewer than `minSize` voxels.
 * @returns the number of components removed.
 */
export function removeSmallComponents(mask: Uint8Array, shape: Shape3, minSize: number): number {
  if (minSize <= 1) return 0;
  const { labels, count } = labelConnectedComponents(mask, shape, 26);
  if (count === 0) return 0;
  const sizes = labelSizes(labels, count);
  let removed = 0;
  const drop = new Uint8Array(count + 1);
  for (let c = 1; c <= count; c++) {
    if (sizes[c]! < minSize) {
      drop[c] = 1;
      removed++;
    }
  }
  if (removed > 0) for (let i = 0; i < mask.length; i++) if (drop[labels[i]!]) mask[i] = 0;
  return removed;
}

/** Binarised region masks (channel order) after thresholds and minimum sizes. */
export function postprocessRegions(probabilities: ChannelVolume, settings: readonly RegionPostprocess[]): Uint8Array[] {
  const [channels, nx, ny, nz] = probabilities.shape;
  if (channels !== settings.length) {
    throw new RangeError(
      `postprocess: the probability map has ${channels} channels but ${settings.length} regions are configured`,
    );
  }
  const n = nx * ny * nz;
  return settings.map((s, c) => {
    const mask = binarize(probabilities.data.subarray(c * n, (c + 1) * n), s.threshold);
    removeSmallComponents(mask, [nx, ny, nz], s.minSize);
    if (s.steps) applyPostprocessSteps(mask, [nx, ny, nz], s.steps);
    return mask;
  });
}

/**
 * The whole postprocessing of one case: per-region thresholds and minimum component sizes
 * (26-connectivity), then regions to labels in the task's order (see {@link regionsToLabelMap}).
 */
export function probabilitiesToLabels(
  probabilities: ChannelVolume,
  task: TaskDefinition,
  settings: readonly RegionPostprocess[],
): Uint8Array {
  return regionsToLabelMap(postprocessRegions(probabilities, settings), task);
}
