/**
 * Preprocessing of one case, in memory: crop to the non-zero bounding box of all modalities,
 * normalise each modality with the task's method for it (default: z-score over its non-zero
 * voxels), crop the label map to the same box.
 */
import {
  boxShape,
  cropChannels,
  cropVolume,
  nonZeroBoundingBox,
  type BoundingBox,
  type ChannelVolume,
  type Shape3,
  type Volume,
} from '@mednext-ts/tensor3d';
import { resolveNormalization, type NormalizationParams } from '../tasks/normalization.js';
import type { TaskDefinition } from '../tasks/task.js';
import { checkFiniteInput } from './non-finite.js';
import { normalizeChannel } from './normalization.js';
import { checkLabels } from './regions.js';
import { MedNeXtError } from '../errors.js';

/** Version of the cache layout; bumped when the meaning of cached files changes. */
export const CACHE_VERSION = 1;

/** Per-modality normalisation statistics (before normalisation, over the cropped non-zero voxels). */
export interface ModalityStats {
  modality: string;
  /** The normalisation applied, with its parameters (absent in caches written before it was recorded: `zscore-nonzero`). */
  method?: NormalizationParams;
  mean: number;
  std: number;
  count: number;
}

/** The JSON written next to each cached case. */
export interface CachedCaseMeta {
  version: number;
  id: string;
  /** Data source tag (`--root path:tag`), used to stratify the folds. */
  source: string;
  task: string;
  /** Channel order of the cached image. */
  modalities: string[];
  /** Shape of the original images `[nx, ny, nz]` (C order). */
  originalShape: Shape3;
  /** Crop box in original voxel indices (end exclusive); `uncropVolume` undoes the crop. */
  cropBox: BoundingBox;
  /** Shape of the cached volume (= box size). */
  croppedShape: Shape3;
  /** Voxel-to-world affine of the original images (4x4, row-major rows). */
  affine: number[][];
  spacing: [number, number, number];
  /** `method`: `zscore-nonzero` when every modality used it, else `per-modality` (see each `stats[i].method`). */
  normalization: { method: string; stats: ModalityStats[] };
  /** Distinct non-zero label values in the label map, or null when the case has none. */
  labels: number[] | null;
  /** Original files by modality (and `seg`). */
  files: Record<string, string>;
  /** File names of the cache arrays, relative to the cache folder. */
  arrays: { image: string; seg: string | null };
}

/** Input of {@link preprocessCaseArrays}. */
export interface RawCase {
  id: string;
  source: string;
  modalities: string[];
  image: ChannelVolume<Float32Array>;
  labels?: Volume<Uint8Array>;
  affine: number[][];
  spacing: [number, number, number];
  files: Record<string, string>;
}

/** Output of {@link preprocessCaseArrays}. */
export interface PreprocessedArrays {
  meta: CachedCaseMeta;
  image: ChannelVolume<Float32Array>;
  labels?: Volume<Uint8Array>;
}

/** Options of {@link preprocessCaseArrays}. */
export interface PreprocessCaseOptions {
  /**
   * Normalisation per modality, in `raw.modalities` order; default the task's. Prediction passes
   * the one recorded in the checkpoint, so it repeats what training did.
   */
  normalization?: readonly NormalizationParams[];
}

/**
 * Crops and normalises one case. A case whose images are entirely zero is an error (nothing to
 * train on and probably a broken file).
 */
export function preprocessCaseArrays(
  raw: RawCase,
  task: TaskDefinition,
  options: PreprocessCaseOptions = {},
): PreprocessedArrays {
  const [c, nx, ny, nz] = raw.image.shape;
  if (c !== raw.modalities.length) {
    throw new MedNeXtError(
      'INPUT_INVALID',
      `case ${raw.id}: image has ${c} channels but ${raw.modalities.length} modalities are named`,
    );
  }
  // Callers that offer a repair (mednext preprocess/predict) have run it already; here it is a guard.
  checkFiniteInput(raw);
  const shape: Shape3 = [nx, ny, nz];
  const n = nx * ny * nz;
  const channels: Volume[] = Array.from({ length: c }, (_, ch) => ({
    data: raw.image.data.subarray(ch * n, (ch + 1) * n),
    shape,
  }));
  const box = nonZeroBoundingBox(channels);
  if (!box) throw new MedNeXtError('INPUT_INVALID', `case ${raw.id}: every voxel of every modality is zero`);
  const cropped = cropChannels(raw.image, box);
  const size = boxShape(box);
  const m = size[0] * size[1] * size[2];
  const methods =
    options.normalization ?? resolveNormalization({ modalities: raw.modalities, normalization: task.normalization });
  if (methods.length !== c)
    throw new MedNeXtError(
      'NORMALIZATION_INVALID',
      `case ${raw.id}: ${methods.length} normalisation method(s) given for ${c} modalities`,
    );
  const stats: ModalityStats[] = [];
  for (let ch = 0; ch < c; ch++) {
    const view = cropped.data.subarray(ch * m, (ch + 1) * m);
    const modality = raw.modalities[ch]!;
    const z = normalizeChannel(view, size, methods[ch]!, `case ${raw.id} modality ${modality}`);
    stats.push({ modality, method: methods[ch]!, mean: z.mean, std: z.std, count: z.count });
  }
  const uniform = methods.every((x) => x.method === 'zscore-nonzero' && Object.keys(x).length === 1);
  let labels: Volume<Uint8Array> | undefined;
  let present: number[] | null = null;
  if (raw.labels) {
    if (raw.labels.shape.some((v, a) => v !== shape[a])) {
      throw new MedNeXtError(
        'INPUT_INVALID',
        `case ${raw.id}: label map shape [${raw.labels.shape}] differs from the image shape [${shape}]`,
      );
    }
    labels = cropVolume(raw.labels, box);
    present = checkLabels(raw.labels.data, task, `case ${raw.id} label map`);
  }
  const meta: CachedCaseMeta = {
    version: CACHE_VERSION,
    id: raw.id,
    source: raw.source,
    task: task.id,
    modalities: [...raw.modalities],
    originalShape: shape,
    cropBox: box,
    croppedShape: size,
    affine: raw.affine.map((row) => [...row]),
    spacing: raw.spacing,
    normalization: { method: uniform ? 'zscore-nonzero' : 'per-modality', stats },
    labels: present,
    files: raw.files,
    arrays: { image: `${raw.id}.npy`, seg: labels ? `${raw.id}_seg.npy` : null },
  };
  return { meta, image: cropped, labels };
}
