/**
 * Intensity normalisation of MR modalities.
 */
import { Tensor3dError } from '../errors.js';
import { assertShape, type Volume, type VoxelArray } from './volume.js';

/** Result of {@link zscoreNonZero}: the normalised volume and the statistics used. */
export interface ZScoreResult {
  volume: Volume<Float32Array>;
  /** Mean of the voxels the statistics were taken over (float64). */
  mean: number;
  /** Population standard deviation of those voxels (divide by n). */
  std: number;
  /** Number of voxels the statistics were taken over. */
  count: number;
}

/**
 * Z-score normalisation over the non-zero voxels (or over `mask` when given): those voxels become
 * `(v - mean) / max(std, 1e-8)`, every other voxel becomes 0. Zero is the background of
 * skull-stripped BraTS images, so including it would make the statistics depend on the field of
 * view. Statistics are accumulated in float64.
 */
export function zscoreNonZero(volume: Volume<VoxelArray>, mask?: Uint8Array): ZScoreResult {
  assertShape(volume.data, volume.shape, 'zscoreNonZero');
  if (mask) assertShape(mask, volume.shape, 'zscoreNonZero mask');
  const d = volume.data;
  const inside = mask ? (i: number) => mask[i] !== 0 : (i: number) => d[i] !== 0;
  let count = 0;
  let sum = 0;
  for (let i = 0; i < d.length; i++) {
    if (inside(i)) {
      count++;
      sum += d[i]!;
    }
  }
  if (!Number.isFinite(sum)) {
    // NaN counts as non-zero and would make every output voxel NaN: refuse instead of answering garbage.
    let bad = 0;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) bad++;
    throw new Tensor3dError(
      'BAD_ARGUMENT',
      `zscoreNonZero: ${bad > 0 ? `${bad} voxel(s) are NaN or infinite` : 'the sum of the voxels overflows'}; ` +
        'repair or reject non-finite input before normalising',
    );
  }
  const mean = count > 0 ? sum / count : 0;
  let sq = 0;
  for (let i = 0; i < d.length; i++) {
    if (inside(i)) {
      const t = d[i]! - mean;
      sq += t * t;
    }
  }
  const std = count > 0 ? Math.sqrt(sq / count) : 0;
  const scale = 1 / Math.max(std, 1e-8);
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) if (inside(i)) out[i] = (d[i]! - mean) * scale;
  return {
    volume: { data: out, shape: [...volume.shape], ...(volume.spacing ? { spacing: volume.spacing } : {}) },
    mean,
    std,
    count,
  };
}
