/**
 * Training patch sampling: random placement with foreground oversampling, the spatial
 * augmentation folded into the cut, region targets, then intensity augmentation and mirroring.
 */
import {
  Random,
  allocateLike,
  extractPatch,
  patchStartAround,
  patchStartRange,
  transformPatch,
  type ChannelVolume,
  type Shape3,
  type Volume,
} from '@mednext-ts/tensor3d';
import type { RegionDefinition } from '../tasks/task.js';
import { augmentPatch, drawSpatialTransform, type AugmentationConfig } from './augmentation.js';
import { labelsToRegions } from './regions.js';

/** A preprocessed case held in memory: normalised image `[C, x, y, z]` and its label map. */
export interface TrainingCase {
  id: string;
  source: string;
  image: ChannelVolume<Float32Array>;
  labels: Volume<Uint8Array>;
}

/** Voxel locations of each label value (flat C-order indices), for foreground oversampling. */
export type ForegroundIndex = Map<number, Int32Array>;

/**
 * Lists, per non-zero label value, the voxels carrying it. At most `maxPerLabel` voxels are kept per
 * label, evenly strided through the list, which bounds memory for large lesions while still
 * covering their whole extent.
 */
export function foregroundIndex(labels: Volume<Uint8Array>, maxPerLabel = 10000): ForegroundIndex {
  const counts = new Map<number, number>();
  const d = labels.data;
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) counts.set(d[i]!, (counts.get(d[i]!) ?? 0) + 1);
  const result: ForegroundIndex = new Map();
  const seen = new Map<number, number>();
  const filled = new Map<number, number>();
  for (const [label, n] of counts) {
    result.set(label, new Int32Array(Math.min(n, maxPerLabel)));
    seen.set(label, 0);
    filled.set(label, 0);
  }
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v === 0) continue;
    const n = counts.get(v)!;
    const k = seen.get(v)!;
    seen.set(v, k + 1);
    const out = result.get(v)!;
    const f = filled.get(v)!;
    // Keep voxel k when it is the next of `out.length` evenly spaced picks among n.
    if (f < out.length && Math.floor((f * n) / out.length) === k) {
      out[f] = i;
      filled.set(v, f + 1);
    }
  }
  return new Map([...result.entries()].sort((a, b) => a[0] - b[0]));
}

/** A sampled training example: image `[C, ...patch]` and region target `[R, ...patch]`. */
export interface Sample {
  image: ChannelVolume<Float32Array>;
  target: ChannelVolume<Uint8Array>;
  /** The voxel (case coordinates) the patch is centred on. */
  center: Shape3;
  /** Whether the centre was forced onto a foreground voxel. */
  foreground: boolean;
}

/** Options of {@link samplePatch}. */
export interface SampleOptions {
  patchSize: Shape3;
  regions: readonly RegionDefinition[];
  /** Centre the patch on a random foreground voxel (a random label first, then a voxel of it). */
  forceForeground: boolean;
  augmentation: AugmentationConfig;
}

/** Converts a flat C-order index to (x, y, z). */
function unravel(index: number, shape: Shape3): Shape3 {
  const z = index % shape[2];
  const t = (index - z) / shape[2];
  const y = t % shape[1];
  return [(t - y) / shape[1], y, z];
}

/**
 * Draws one training patch from a case. Patches that overhang a small case are padded with 0
 * (the normalised background) and label 0.
 */
export function samplePatch(c: TrainingCase, fg: ForegroundIndex, rng: Random, options: SampleOptions): Sample {
  const shape = c.labels.shape;
  const size = options.patchSize;
  const labelsPresent = [...fg.keys()];
  let start: Shape3;
  let center: Shape3;
  const foreground = options.forceForeground && labelsPresent.length > 0;
  if (foreground) {
    const voxels = fg.get(labelsPresent[rng.int(0, labelsPresent.length - 1)]!)!;
    center = unravel(voxels[rng.int(0, voxels.length - 1)]!, shape);
    start = patchStartAround(center, size, shape);
  } else {
    start = size.map((p, a) => {
      const [lo, hi] = patchStartRange(shape[a]!, p);
      return rng.int(lo, hi);
    }) as Shape3;
    center = start.map((s, a) => s + Math.floor(size[a]! / 2)) as Shape3;
  }
  const labelVolume: ChannelVolume<Uint8Array> = { data: c.labels.data, shape: [1, ...shape] };
  const matrix = drawSpatialTransform(rng, options.augmentation);
  let image: ChannelVolume<Float32Array>;
  let labels: ChannelVolume<Uint8Array>;
  if (matrix === null) {
    image = extractPatch(c.image, start, size, 0);
    labels = extractPatch(labelVolume, start, size, 0);
  } else {
    // Rotate/scale about the patch centre, so the chosen foreground voxel stays in view.
    const mid = start.map((s, a) => s + (size[a]! - 1) / 2) as [number, number, number];
    image = transformPatch(c.image, mid, size, matrix, 'linear', 0);
    labels = transformPatch(labelVolume, mid, size, matrix, 'nearest', 0);
  }
  const target: ChannelVolume<Uint8Array> = {
    data: labelsToRegions(labels.data, options.regions),
    shape: [options.regions.length, ...size],
  };
  const augmented = augmentPatch(image, target, rng, options.augmentation);
  return { ...augmented, center, foreground };
}

/**
 * The deterministic validation patch of a case: centred on the centroid of its foreground (the
 * centre of the volume when it has none), no augmentation.
 */
export function validationPatch(
  c: TrainingCase,
  patchSize: Shape3,
  regions: readonly RegionDefinition[],
): { image: ChannelVolume<Float32Array>; target: ChannelVolume<Uint8Array> } {
  const shape = c.labels.shape;
  const sum = [0, 0, 0];
  let n = 0;
  const d = c.labels.data;
  for (let i = 0; i < d.length; i++) {
    if (d[i] === 0) continue;
    const p = unravel(i, shape);
    sum[0] += p[0];
    sum[1] += p[1];
    sum[2] += p[2];
    n++;
  }
  const center = n > 0 ? sum.map((s) => Math.round(s / n)) : shape.map((s) => Math.floor(s / 2));
  const start = patchStartAround(center, patchSize, shape);
  const image = extractPatch(c.image, start, patchSize, 0);
  const labels = extractPatch({ data: d, shape: [1, ...shape] }, start, patchSize, 0);
  return { image, target: { data: labelsToRegions(labels.data, regions), shape: [regions.length, ...patchSize] } };
}

/** Converts a channel-first patch `[C, x, y, z]` to channel-last `[x, y, z, C]` (NDHWC without N). */
export function toChannelsLast<T extends Float32Array | Uint8Array>(volume: ChannelVolume<T>, out?: T, offset = 0): T {
  const [c, nx, ny, nz] = volume.shape;
  const n = nx * ny * nz;
  const result = out ?? allocateLike(volume.data, c * n);
  for (let ch = 0; ch < c; ch++) {
    const src = volume.data.subarray(ch * n, (ch + 1) * n);
    for (let i = 0; i < n; i++) result[offset + i * c + ch] = src[i]!;
  }
  return result;
}
