/**
 * What `mednext predict` writes: the label map in the BraTS submission layout (`<ID>.nii.gz`
 * with the input's exact geometry) and, optionally, the region probabilities for later
 * ensembling or threshold tuning.
 */
import { readFile } from 'node:fs/promises';
import { NiftiImage } from '@mednext-ts/io-nifti';
import { readNifti, writeNifti } from '@mednext-ts/io-nifti/node';
import type { ChannelVolume, Shape3 } from '@mednext-ts/tensor3d';
import { probabilityImage, segmentationImage, type ProbabilityFormat } from '../case-images.js';
export type { ProbabilityFormat };
import { writeFileAtomic } from '../../data/node/cache.js';
import { MedNeXtError } from '../../errors.js';

/** Name of the segmentation file of a case, as the BraTS submission expects. */
export function segmentationFileName(id: string): string {
  return `${id}.nii.gz`;
}

/** Name of the probability map of a case. */
export function probabilityFileName(id: string): string {
  return `${id}_probabilities.nii.gz`;
}

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
  await writeNifti(file, segmentationImage(labels, shape, reference));
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
  const image = probabilityImage(probabilities, reference, format, sidecar.regions);
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
    throw new MedNeXtError(
      'INPUT_INVALID',
      `${file}.json: cannot read the sidecar that names the regions (${(error as Error).message})`,
      { file: `${file}.json`, cause: error },
    );
  }
  const image = await readNifti(file);
  const c = image.toCOrder('float32');
  const shape = (c.shape.length === 3 ? [1, ...c.shape] : c.shape) as [number, number, number, number];
  if (shape[0] !== sidecar.regions.length) {
    throw new MedNeXtError(
      'INPUT_INVALID',
      `${file}: ${shape[0]} channels but the sidecar names ${sidecar.regions.length} regions (${sidecar.regions.join(', ')})`,
      { file: file },
    );
  }
  return { probabilities: { data: c.data, shape, spacing: image.spacing }, sidecar, reference: image };
}
