/**
 * What `mednext predict` writes: the label map in the BraTS submission layout (`<ID>.nii.gz`
 * with the input's exact geometry) and, optionally, the region probabilities for later
 * ensembling or threshold tuning.
 */
import { readFile } from 'node:fs/promises';
import { NiftiImage } from '@mednext-ts/io-nifti';
import { readNifti, writeNifti } from '@mednext-ts/io-nifti/node';
import type { ChannelVolume, Shape3 } from '@mednext-ts/tensor3d';
import { writeFileAtomic } from '../../data/node/cache.js';

/** Name of the segmentation file of a case, as the BraTS submission expects. */
export function segmentationFileName(id: string): string {
  return `${id}.nii.gz`;
}

/** Name of the probability map of a case. */
export function probabilityFileName(id: string): string {
  return `${id}_probabilities.nii.gz`;
}

/**
 * How probabilities are stored. NIfTI-1 has no float16 datatype, so the compact choices are
 * integer codes with a scale factor (`scl_slope`), which every NIfTI reader applies:
 * `uint8` (slope 1/255, step 0.004, 1 byte/voxel), `uint16` (slope 1/65535, step 1.5e-5, finer
 * than float16 near 1) or exact `float32`.
 */
export type ProbabilityFormat = 'uint8' | 'uint16' | 'float32';

const FORMATS: Record<ProbabilityFormat, { code: number; max: number }> = {
  uint8: { code: 2, max: 255 },
  uint16: { code: 512, max: 65535 },
  float32: { code: 16, max: 0 },
};

/** The sidecar JSON next to a probability map: which channel is which region. */
export interface ProbabilitySidecar {
  task: string;
  regions: string[];
  format: ProbabilityFormat;
  /** The checkpoints (and weights) averaged into the map. */
  models: { file: string; weight: number }[];
}

/** Writes the label map with the geometry (affine, qform/sform codes, pixdim) of `reference`. */
export async function writeSegmentation(
  file: string,
  labels: Uint8Array,
  shape: Shape3,
  reference: NiftiImage,
): Promise<void> {
  const image = NiftiImage.fromCOrder(labels, shape, { reference, datatype: 2, descrip: 'mednext-ts segmentation' });
  await writeNifti(file, image);
}

/**
 * Writes region probabilities `[regions, nx, ny, nz]` as a 4-D NIfTI (4th axis = region) with the
 * reference's geometry, plus `<file>.json` naming the regions.
 */
export async function writeProbabilities(
  file: string,
  probabilities: ChannelVolume,
  reference: NiftiImage,
  format: ProbabilityFormat,
  sidecar: Omit<ProbabilitySidecar, 'format'>,
): Promise<void> {
  const spec = FORMATS[format];
  if (!spec) throw new Error(`unknown probability format '${format}' (use uint8, uint16 or float32)`);
  let data: Uint8Array | Uint16Array | Float32Array;
  if (format === 'float32') data = probabilities.data;
  else {
    data = format === 'uint8' ? new Uint8Array(probabilities.data.length) : new Uint16Array(probabilities.data.length);
    for (let i = 0; i < data.length; i++)
      data[i] = Math.round(Math.min(1, Math.max(0, probabilities.data[i]!)) * spec.max);
  }
  const image = NiftiImage.fromCOrder(data, probabilities.shape, {
    reference,
    datatype: spec.code,
    descrip: `mednext-ts probabilities ${sidecar.regions.join(',')}`,
  });
  if (format !== 'float32') image.header.sclSlope = 1 / spec.max;
  // The sidecar goes after the map's atomic rename: a kill in between leaves a map without sidecar, which
  // readProbabilities reports and predict redoes (the segmentation, written last, is still missing), never an
  // orphan sidecar describing a map that does not exist or an older one.
  await writeNifti(file, image);
  await writeFileAtomic(`${file}.json`, JSON.stringify({ ...sidecar, format }, null, 2) + '\n');
}

/** Reads a probability map written by {@link writeProbabilities}: values in [0, 1], `[regions, nx, ny, nz]`. */
export async function readProbabilities(
  file: string,
): Promise<{ probabilities: ChannelVolume; sidecar: ProbabilitySidecar; reference: NiftiImage }> {
  let sidecar: ProbabilitySidecar;
  try {
    sidecar = JSON.parse(await readFile(`${file}.json`, 'utf8')) as ProbabilitySidecar;
  } catch (error) {
    throw new Error(`${file}.json: cannot read the sidecar that names the regions (${(error as Error).message})`, {
      cause: error,
    });
  }
  const image = await readNifti(file);
  const c = image.toCOrder('float32');
  const shape = (c.shape.length === 3 ? [1, ...c.shape] : c.shape) as [number, number, number, number];
  if (shape[0] !== sidecar.regions.length) {
    throw new Error(
      `${file}: ${shape[0]} channels but the sidecar names ${sidecar.regions.length} regions (${sidecar.regions.join(', ')})`,
    );
  }
  return { probabilities: { data: c.data, shape, spacing: image.spacing }, sidecar, reference: image };
}
