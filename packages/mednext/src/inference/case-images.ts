/**
 * The images inference produces, as NIfTI with a case's exact geometry: the label map and the region
 * probabilities. Platform-neutral: the CLI writes them to disk, the web app offers them as downloads, so
 * both produce the same bytes.
 */
import { NiftiImage } from '@mednext-ts/io-nifti';
import type { ChannelVolume, Shape3 } from '@mednext-ts/tensor3d';

/**
 * The label map `[nx, ny, nz]` (C order) as a uint8 NIfTI with the geometry (affine, qform/sform codes,
 * pixdim) of `reference`, the case's first modality.
 *
 * @example
 * const bytes = await encodeNifti(segmentationImage(result.labels, result.shape, reference), { gzip: true });
 */
export function segmentationImage(labels: Uint8Array, shape: Shape3, reference: NiftiImage): NiftiImage {
  return NiftiImage.fromCOrder(labels, shape, { reference, datatype: 2, descrip: 'mednext-ts segmentation' });
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

/**
 * Region probabilities `[regions, nx, ny, nz]` as a 4-D NIfTI (4th axis = region) with the geometry of
 * `reference`, stored as `format` (values clamped to [0, 1] and quantised for the integer formats).
 *
 * @example
 * const bytes = await encodeNifti(probabilityImage(result.probabilities, reference, 'uint8', ['WT', 'TC', 'ET']), { gzip: true });
 */
export function probabilityImage(
  probabilities: ChannelVolume,
  reference: NiftiImage,
  format: ProbabilityFormat,
  regions: readonly string[],
): NiftiImage {
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
    descrip: `mednext-ts probabilities ${regions.join(',')}`,
  });
  if (format !== 'float32') image.header.sclSlope = 1 / spec.max;
  return image;
}
