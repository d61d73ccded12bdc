/**
 * Model-agnostic sliding-window inference over a multi-channel volume.
 *
 * Windows are laid out as in nnU-Net (evenly spaced, first at 0 and last flush with the far
 * border), extracted in batches, passed to a `predict` function, and blended into an
 * output accumulated in place, so memory stays bounded however many windows there are:
 * input + a float64 accumulator (8 bytes x outChannels x voxels) + a float64 weight volume +
 * one batch of windows, then the float32 result. For a 4-channel 240x240x155 image with 3
 * output channels that is 143 + 214 + 71 MB, + 107 MB for the result.
 */
import { Tensor3dError } from '../errors.js';
import { gaussianImportanceMap } from './gaussian.js';
import type { ChannelVolume, Shape3 } from './volume.js';

/**
 * A model seen as a function of a batch of windows: `patches` holds `count` windows laid out
 * `[count, inChannels, px, py, pz]` (C order); the result must hold `[count, outChannels, px, py, pz]`
 * values (probabilities, or whatever is to be averaged). The input buffer is reused between
 * calls, so a predictor must not keep a reference to it.
 */
export type PatchPredictor = (patches: Float32Array, count: number) => Promise<Float32Array> | Float32Array;

/** How overlapping windows are combined. */
export type BlendMode = 'gaussian' | 'constant';

/** Options of {@link slidingWindowInference}. */
export interface SlidingWindowOptions {
  /** Window size `[px, py, pz]` in voxels. */
  patchSize: Shape3;
  /** Number of channels `predict` returns per window. */
  outChannels: number;
  /** Fraction of a window shared with its neighbour, in [0, 1); default 0.5 (0.7 is the paper's other setting). */
  overlap?: number;
  /** `gaussian` (default; sigma = `sigmaScale` x patch) or `constant` (plain average). */
  blend?: BlendMode;
  /** Gaussian sigma as a fraction of the patch size; default 1/8. */
  sigmaScale?: number;
  /** Windows per `predict` call; default 1. */
  batchSize?: number;
  /** Value of the voxels outside the image when the image is smaller than the window; default 0. */
  padValue?: number;
  /** Called after each batch with the number of windows done and the total. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Window start positions along one axis (default {@link windowStarts}, nnU-Net's even spacing).
   * A start below 0 means the image is padded with `padValue` before it. Lets a caller reproduce
   * another library's placement (e.g. MONAI's fixed stride with a flush last window).
   */
  placement?: WindowPlacement;
  /** Blending weights of one window, `px * py * pz` values in C order; overrides `blend` and `sigmaScale`. */
  importanceMap?: Float32Array;
}

/** Window start positions along one axis of `size` voxels for windows of `patch` voxels. */
export type WindowPlacement = (size: number, patch: number, overlap: number) => number[];

/** Rounds half to even, like `numpy.round`, so window positions match nnU-Net's. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Start positions of the windows along one axis.
 *
 * For `size >= patch`: `n = ceil((size - patch) / (patch * (1 - overlap))) + 1` windows, spaced
 * `(size - patch) / (n - 1)` apart and rounded (nnU-Net's `compute_steps_for_sliding_window`).
 * For `size < patch`: one window starting at `-floor((patch - size) / 2)`, i.e. the image is
 * centred in a zero-padded window, as nnU-Net pads before predicting.
 */
export function windowStarts(size: number, patch: number, overlap = 0.5): number[] {
  if (!(overlap >= 0 && overlap < 1))
    throw new Tensor3dError('BAD_ARGUMENT', `windowStarts: overlap must be in [0, 1), got ${overlap}`);
  if (!Number.isInteger(size) || size <= 0 || !Number.isInteger(patch) || patch <= 0) {
    throw new Tensor3dError(
      'BAD_ARGUMENT',
      `windowStarts: size (${size}) and patch (${patch}) must be positive integers`,
    );
  }
  if (size <= patch) return [size === patch ? 0 : -Math.floor((patch - size) / 2)];
  const target = patch * (1 - overlap);
  const count = Math.ceil((size - patch) / target) + 1;
  const step = (size - patch) / (count - 1);
  return Array.from({ length: count }, (_, i) => roundHalfEven(step * i));
}

/** All window origins `[x, y, z]` in C order (x slowest). */
export function windowOrigins(
  shape: Shape3,
  patchSize: Shape3,
  overlap = 0.5,
  placement: WindowPlacement = windowStarts,
): Shape3[] {
  const [sx, sy, sz] = [0, 1, 2].map((a) => placement(shape[a]!, patchSize[a]!, overlap)) as [
    number[],
    number[],
    number[],
  ];
  const origins: Shape3[] = [];
  for (const x of sx) for (const y of sy) for (const z of sz) origins.push([x, y, z]);
  return origins;
}

/**
 * Runs `predict` over overlapping windows of `input` and returns the blended prediction,
 * `[outChannels, nx, ny, nz]`, on the input's grid.
 *
 * Each output voxel is `sum_w weight_w(v) * p_w(v) / sum_w weight_w(v)` over the windows `w`
 * covering it; with `blend: 'constant'` that is the plain mean. Images smaller than the window
 * along an axis are padded with `padValue` on the fly (nothing is copied) and the padding is
 * cropped from the result.
 */
export async function slidingWindowInference(
  input: ChannelVolume,
  predict: PatchPredictor,
  options: SlidingWindowOptions,
): Promise<ChannelVolume> {
  const [inChannels, nx, ny, nz] = input.shape;
  const patch = options.patchSize;
  const [px, py, pz] = patch;
  const outChannels = options.outChannels;
  const batchSize = options.batchSize ?? 1;
  if (!Number.isInteger(outChannels) || outChannels <= 0)
    throw new Tensor3dError(
      'BAD_ARGUMENT',
      `slidingWindowInference: outChannels must be a positive integer, got ${outChannels}`,
    );
  if (!Number.isInteger(batchSize) || batchSize <= 0)
    throw new Tensor3dError(
      'BAD_ARGUMENT',
      `slidingWindowInference: batchSize must be a positive integer, got ${batchSize}`,
    );
  if (input.data.length !== inChannels * nx * ny * nz) {
    throw new Tensor3dError(
      'BAD_SHAPE',
      `slidingWindowInference: input shape [${input.shape.join(', ')}] does not match its ${input.data.length} values`,
    );
  }
  const origins = windowOrigins([nx, ny, nz], patch, options.overlap ?? 0.5, options.placement);
  const patchVoxels = px * py * pz;
  if (options.importanceMap && options.importanceMap.length !== patchVoxels) {
    throw new Tensor3dError(
      'BAD_SHAPE',
      `slidingWindowInference: importanceMap has ${options.importanceMap.length} values for a ${patch.join('x')} window`,
    );
  }
  const weights = options.importanceMap
    ? options.importanceMap
    : (options.blend ?? 'gaussian') === 'gaussian'
      ? gaussianImportanceMap(patch, { sigmaScale: options.sigmaScale })
      : new Float32Array(patchVoxels).fill(1);
  const volumeVoxels = nx * ny * nz;
  // Float64 accumulation: weight * p is exact in double, so a voxel seen by one window comes back
  // bit-identical, and many overlapping windows lose nothing to float32 rounding.
  const acc = new Float64Array(outChannels * volumeVoxels);
  const weightSum = new Float64Array(volumeVoxels);
  const batch = new Float32Array(batchSize * inChannels * patchVoxels);
  const padValue = options.padValue ?? 0;

  for (let first = 0; first < origins.length; first += batchSize) {
    const windows = origins.slice(first, first + batchSize);
    for (let b = 0; b < windows.length; b++)
      extractWindow(input, windows[b]!, patch, batch, b * inChannels * patchVoxels, padValue);
    const result = await predict(batch.subarray(0, windows.length * inChannels * patchVoxels), windows.length);
    if (result.length !== windows.length * outChannels * patchVoxels) {
      throw new Tensor3dError(
        'BAD_SHAPE',
        `slidingWindowInference: predict returned ${result.length} values for ${windows.length} window(s); expected ${windows.length} x ${outChannels} channels x ${patchVoxels} voxels`,
      );
    }
    for (let b = 0; b < windows.length; b++) {
      accumulateWindow(
        acc,
        weightSum,
        [nx, ny, nz],
        outChannels,
        windows[b]!,
        patch,
        result,
        b * outChannels * patchVoxels,
        weights,
      );
    }
    options.onProgress?.(first + windows.length, origins.length);
  }
  const out = new Float32Array(outChannels * volumeVoxels);
  for (let c = 0; c < outChannels; c++) {
    const base = c * volumeVoxels;
    for (let v = 0; v < volumeVoxels; v++) out[base + v] = acc[base + v]! / weightSum[v]!;
  }
  return { data: out, shape: [outChannels, nx, ny, nz], spacing: input.spacing };
}

/** Copies one window (all channels) into `dst` at `offset`; voxels outside the image get `padValue`. */
function extractWindow(
  input: ChannelVolume,
  origin: Shape3,
  patch: Shape3,
  dst: Float32Array,
  offset: number,
  padValue: number,
): void {
  const [channels, nx, ny, nz] = input.shape;
  const [px, py, pz] = patch;
  const [ox, oy, oz] = origin;
  const z0 = Math.max(0, -oz);
  const z1 = Math.min(pz, nz - oz);
  const inside = ox >= 0 && oy >= 0 && oz >= 0 && ox + px <= nx && oy + py <= ny && oz + pz <= nz;
  if (!inside) dst.fill(padValue, offset, offset + channels * px * py * pz);
  for (let c = 0; c < channels; c++) {
    for (let x = 0; x < px; x++) {
      const ix = ox + x;
      if (ix < 0 || ix >= nx) continue;
      for (let y = 0; y < py; y++) {
        const iy = oy + y;
        if (iy < 0 || iy >= ny) continue;
        const src = ((c * nx + ix) * ny + iy) * nz + oz;
        const d = offset + ((c * px + x) * py + y) * pz;
        dst.set(input.data.subarray(src + z0, src + z1), d + z0);
      }
    }
  }
}

/** Adds `weight * prediction` of one window into `out` and `weight` into `weightSum` (inside the image only). */
function accumulateWindow(
  out: Float64Array,
  weightSum: Float64Array,
  shape: Shape3,
  channels: number,
  origin: Shape3,
  patch: Shape3,
  pred: Float32Array,
  offset: number,
  weights: Float32Array,
): void {
  const [nx, ny, nz] = shape;
  const [px, py, pz] = patch;
  const [ox, oy, oz] = origin;
  const z0 = Math.max(0, -oz);
  const z1 = Math.min(pz, nz - oz);
  const volumeVoxels = nx * ny * nz;
  for (let x = 0; x < px; x++) {
    const ix = ox + x;
    if (ix < 0 || ix >= nx) continue;
    for (let y = 0; y < py; y++) {
      const iy = oy + y;
      if (iy < 0 || iy >= ny) continue;
      const vRow = (ix * ny + iy) * nz + oz;
      const wRow = (x * py + y) * pz;
      for (let z = z0; z < z1; z++) weightSum[vRow + z]! += weights[wRow + z]!;
      for (let c = 0; c < channels; c++) {
        const oRow = c * volumeVoxels + vRow;
        const pRow = offset + c * px * py * pz + wRow;
        for (let z = z0; z < z1; z++) out[oRow + z]! += weights[wRow + z]! * pred[pRow + z]!;
      }
    }
  }
}
