/**
 * The on-disk preprocessing cache: per case `<id>.npy` (float32 `[C, x, y, z]`), `<id>_seg.npy`
 * (uint8 `[x, y, z]`) and `<id>.json` ({@link CachedCaseMeta}); plus `dataset.json` describing the
 * whole folder. The JSON is written last, so its presence marks a complete case.
 */
import type { NormalizationParams } from '../../tasks/normalization.js';
import { readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { temporaryName } from '@mednext-ts/io-nifti/node';
import type { ChannelVolume, Shape3, Volume } from '@mednext-ts/tensor3d';
import { decodeNpy, encodeNpy } from '../npy-volume.js';
import { CACHE_VERSION, type CachedCaseMeta, type PreprocessedArrays } from '../preprocess-case.js';
import { MedNeXtError } from '../../errors.js';

/** `dataset.json`: what the cache folder holds. */
export interface DatasetDescription {
  version: number;
  task: string;
  modalities: string[];
  regions: string[];
  cases: { id: string; source: string }[];
  /** Normalisation of each modality, in modality order (absent in caches from before it was recorded: `zscore-nonzero`). */
  normalization?: NormalizationParams[];
}

/** Name of the dataset description file. */
export const DATASET_FILE = 'dataset.json';

/** Writes bytes to a temporary file next to `file`, then renames it into place. */
export async function writeFileAtomic(file: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = temporaryName(file);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw new MedNeXtError('CACHE_WRITE_FAILED', `cannot write ${file}: ${(error as Error).message}`, {
      file,
      cause: error,
    });
  }
}

/** Path of the metadata JSON of a case. */
export function caseMetaPath(dir: string, id: string): string {
  return path.join(dir, `${id}.json`);
}

/** Writes a preprocessed case (arrays first, JSON last). */
export async function writeCachedCase(dir: string, arrays: PreprocessedArrays): Promise<void> {
  const { meta, image, labels } = arrays;
  await writeFileAtomic(path.join(dir, meta.arrays.image), encodeNpy(image.data, image.shape));
  if (labels && meta.arrays.seg)
    await writeFileAtomic(path.join(dir, meta.arrays.seg), encodeNpy(labels.data, labels.shape));
  await writeFileAtomic(caseMetaPath(dir, meta.id), JSON.stringify(meta, null, 1));
}

/** Reads and checks the metadata of a cached case. */
export async function readCaseMeta(dir: string, id: string): Promise<CachedCaseMeta> {
  const file = caseMetaPath(dir, id);
  let meta: CachedCaseMeta;
  try {
    meta = JSON.parse(await readFile(file, 'utf8')) as CachedCaseMeta;
  } catch (error) {
    throw new MedNeXtError(
      'CACHE_INVALID',
      `${file}: cannot read case metadata (${(error as Error).message}); run mednext preprocess first`,
      { file, cause: error },
    );
  }
  if (meta.version !== CACHE_VERSION) {
    throw new MedNeXtError(
      'CACHE_MISMATCH',
      `${file}: cache version ${meta.version}, this mednext reads ${CACHE_VERSION}; preprocess again with --overwrite`,
      { file },
    );
  }
  return meta;
}

/** True when the case's JSON and arrays exist with the current cache version. */
export async function isCaseCached(dir: string, id: string): Promise<boolean> {
  try {
    const meta = await readCaseMeta(dir, id);
    return (
      existsSync(path.join(dir, meta.arrays.image)) &&
      (meta.arrays.seg === null || existsSync(path.join(dir, meta.arrays.seg)))
    );
  } catch {
    return false;
  }
}

/** A cached case loaded into memory. */
export interface LoadedCase {
  meta: CachedCaseMeta;
  image: ChannelVolume<Float32Array>;
  labels?: Volume<Uint8Array>;
}

/** Loads a cached case's arrays (views over the file bytes, no per-voxel decoding). */
export async function readCachedCase(dir: string, id: string): Promise<LoadedCase> {
  const meta = await readCaseMeta(dir, id);
  const imageFile = path.join(dir, meta.arrays.image);
  const img = decodeNpy(await readFile(imageFile), imageFile);
  if (!(img.data instanceof Float32Array) || img.shape.length !== 4) {
    throw new MedNeXtError(
      'CACHE_INVALID',
      `${imageFile}: expected a float32 [C, x, y, z] array, got shape [${img.shape}]`,
      { file: imageFile },
    );
  }
  const image: ChannelVolume<Float32Array> = { data: img.data, shape: img.shape as [number, number, number, number] };
  let labels: Volume<Uint8Array> | undefined;
  if (meta.arrays.seg) {
    const segFile = path.join(dir, meta.arrays.seg);
    const seg = decodeNpy(await readFile(segFile), segFile);
    if (!(seg.data instanceof Uint8Array) || seg.shape.length !== 3) {
      throw new MedNeXtError(
        'CACHE_INVALID',
        `${segFile}: expected a uint8 [x, y, z] array, got shape [${seg.shape}]`,
        { file: segFile },
      );
    }
    labels = { data: seg.data, shape: seg.shape as Shape3 };
  }
  return { meta, image, labels };
}

/** Reads `dataset.json` of a cache folder. */
export async function readDatasetDescription(dir: string): Promise<DatasetDescription> {
  const file = path.join(dir, DATASET_FILE);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DatasetDescription;
  } catch (error) {
    throw new MedNeXtError(
      'CACHE_INVALID',
      `${file}: cannot read (${(error as Error).message}); is ${dir} a folder made by mednext preprocess?`,
      { file, cause: error },
    );
  }
}

/** Ids of the cases whose metadata JSON exists in the folder, sorted. */
export async function listCachedCaseIds(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names
    .filter((n) => n.endsWith('.json') && n !== DATASET_FILE && n !== 'splits.json' && !n.startsWith('.'))
    .map((n) => n.slice(0, -5))
    .sort();
}
