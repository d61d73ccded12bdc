/**
 * The seed paper's preprocessing (`dataset_preprocessing.py:preprocess_sample`), for inference:
 * int16/abs intensity cast, crop to the box of voxels non-zero in any modality, and per-channel
 * z-scoring over each channel's non-zero voxels with the population standard deviation, applied
 * twice as the seed code does. No resampling and no reorientation (the seed asserts 1 mm spacing).
 */
import type { ChannelVolume, Shape3 } from '@mednext-ts/tensor3d';
import { MedNeXtError } from '../errors.js';

/** Result of {@link seedPreprocess}. */
export interface SeedPreprocessed {
  /** `[channels, I', J', K']` float32, normalised, on the cropped grid. */
  image: ChannelVolume<Float32Array>;
  /** Crop box in original voxel indices (end exclusive), as the seed's `_meta.npy` rows 0 and 1. */
  box: { start: Shape3; end: Shape3 };
  originalShape: Shape3;
  croppedShape: Shape3;
  /** Voxels whose value lay outside the int16 range before the cast (wrapped as NumPy on x86 does). */
  outOfRange: number;
}

const TWO_31 = 2 ** 31;

/**
 * NumPy's `np.abs(x.astype(np.int16))` with `-32768 -> 0`, on x86: truncation toward zero, the low
 * 16 bits of the int32 result (values beyond int32 and NaN become 0), absolute value.
 * @example seedIntensityCast(-37.9) // 37
 * @example seedIntensityCast(40000.7) // 25536 (wraps like the seed code; counted as out of range)
 */
export function seedIntensityCast(value: number): number {
  if (!Number.isFinite(value)) return 0;
  const t = Math.trunc(value);
  if (t >= TWO_31 || t < -TWO_31) return 0;
  let w = ((t % 65536) + 65536) % 65536;
  if (w >= 32768) w -= 65536;
  return w === -32768 ? 0 : Math.abs(w);
}

/**
 * MONAI 1.1 `NormalizeIntensity(nonzero=True, channel_wise=True)` on one channel, in place:
 * mean and population std over the channel's non-zero voxels (std 0 -> 1), then
 * `(x - mean) / std` in float32 on those voxels; an all-zero channel is left unchanged.
 */
export function normalizeNonZeroChannel(data: Float32Array): void {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v !== 0) {
      n++;
      sum += v;
    }
  }
  if (n === 0) return;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v !== 0) ss += (v - mean) * (v - mean);
  }
  let std = Math.sqrt(ss / n);
  if (std === 0) std = 1;
  // torch computes tensor-minus-Python-float in float32: both operands and each result are rounded.
  const m32 = Math.fround(mean);
  const s32 = Math.fround(std);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v !== 0) data[i] = Math.fround(v - m32) / s32;
  }
}

/**
 * Runs the seed preprocessing on the modalities in the seed's channel order
 * (`[t2f, t1n, t1c, t2w]` for the released models), with intensities as read from the files
 * (scl_slope/scl_inter applied).
 * @throws when no voxel is non-zero (the seed code would produce an empty crop)
 */
export function seedPreprocess(raw: ChannelVolume, source = 'case'): SeedPreprocessed {
  const [channels, nx, ny, nz] = raw.shape;
  const n = nx * ny * nz;
  const cast = new Float32Array(channels * n);
  let outOfRange = 0;
  for (let i = 0; i < cast.length; i++) {
    const v = raw.data[i]!;
    if (!(v > -32769 && v < 32768)) outOfRange++;
    cast[i] = seedIntensityCast(v);
  }
  // Foreground: any channel > 0 (after the abs cast: non-zero anywhere). MONAI margin 0, end exclusive.
  const lo: Shape3 = [nx, ny, nz];
  const hi: Shape3 = [-1, -1, -1];
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      for (let z = 0; z < nz; z++) {
        const v = (x * ny + y) * nz + z;
        let fg = false;
        for (let c = 0; c < channels && !fg; c++) fg = cast[c * n + v]! > 0;
        if (!fg) continue;
        if (x < lo[0]) lo[0] = x;
        if (x > hi[0]) hi[0] = x;
        if (y < lo[1]) lo[1] = y;
        if (y > hi[1]) hi[1] = y;
        if (z < lo[2]) lo[2] = z;
        if (z > hi[2]) hi[2] = z;
      }
    }
  }
  if (hi[0] < 0)
    throw new MedNeXtError('INPUT_INVALID', `${source}: every voxel of every modality is zero; nothing to segment`);
  const start: Shape3 = [lo[0], lo[1], lo[2]];
  const end: Shape3 = [hi[0] + 1, hi[1] + 1, hi[2] + 1];
  const [cx, cy, cz] = [end[0] - start[0], end[1] - start[1], end[2] - start[2]];
  const m = cx * cy * cz;
  const out = new Float32Array(channels * m);
  for (let c = 0; c < channels; c++) {
    for (let x = 0; x < cx; x++) {
      for (let y = 0; y < cy; y++) {
        const src = c * n + ((x + start[0]) * ny + (y + start[1])) * nz + start[2];
        out.set(cast.subarray(src, src + cz), c * m + (x * cy + y) * cz);
      }
    }
  }
  // normalize_intensity runs twice (preprocess_sample, then encode_foregrounds): the second pass
  // changes values by rounding only, except voxels the first pass mapped to exactly 0.
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 0; c < channels; c++) normalizeNonZeroChannel(out.subarray(c * m, (c + 1) * m));
  }
  return {
    image: { data: out, shape: [channels, cx, cy, cz] },
    box: { start, end },
    originalShape: [nx, ny, nz],
    croppedShape: [cx, cy, cz],
    outOfRange,
  };
}
