/**
 * NIfTI in the page: decode a `.nii.gz` with the browser path (web DecompressionStream, the default of
 * `decodeNifti`), summarise it, and round-trip it through `encodeNifti` (web CompressionStream).
 */
import {
  NiftiError,
  decodeNifti,
  encodeNifti,
  isGzip,
  summarizeNifti,
  webGunzip,
  type NiftiImage,
} from '@mednext-ts/io-nifti';
import type { NiftiRejection, NiftiResult } from './protocol.js';

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** SHA-256 of the voxel bytes exactly as stored: gunzip, then everything from vox_offset on. */
async function rawVoxelHash(file: Uint8Array, image: NiftiImage): Promise<string> {
  const raw = isGzip(file) ? await webGunzip(file) : file;
  const bytes = image.shape.reduce((a, b) => a * b, 1) * (image.header.bitpix / 8);
  const start = image.header.voxOffset;
  return sha256Hex(raw.subarray(start, start + bytes));
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`nifti check: GET ${url} answered ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Decodes the (broken) file at `url` and reports how the decoder rejected it. */
export async function niftiRejection(url: string): Promise<NiftiRejection> {
  const file = await fetchBytes(url);
  try {
    await decodeNifti(file, { file: url });
    return { name: null, code: null, message: null, isNiftiError: false };
  } catch (error) {
    const e = error as { name?: string; code?: string; message?: string };
    return {
      name: e.name ?? null,
      code: e.code ?? null,
      message: e.message ?? String(error),
      isNiftiError: error instanceof NiftiError,
    };
  }
}

/** Decodes the fixture at `url`, reads the `spots` ([i, j, k] voxels) and round-trips the image. */
export async function niftiCheck(url: string, spots: number[][]): Promise<NiftiResult> {
  const file = await fetchBytes(url);
  // No decompress option: the browser default (DecompressionStream) is what is under test.
  const image = await decodeNifti(file, { file: url });
  const summary = await summarizeNifti(image);

  const encoded = await encodeNifti(image, { gzip: true });
  const again = await decodeNifti(encoded, { file: 'round trip' });
  const againSummary = await summarizeNifti(again);

  return {
    shape: summary.dims,
    datatype: summary.datatype,
    affine: summary.affine,
    orientation: summary.orientation,
    count: summary.count,
    min: summary.min,
    max: summary.max,
    sum: summary.sum,
    sha256: summary.sha256,
    spots: spots.map(([i, j, k]) => image.valueAt(i!, j!, k!)),
    rawSha256: await rawVoxelHash(file, image),
    roundTrip: {
      gzip: isGzip(encoded),
      byteLength: encoded.byteLength,
      shape: againSummary.dims,
      datatype: againSummary.datatype,
      affine: againSummary.affine,
      sha256: againSummary.sha256,
      rawSha256: await rawVoxelHash(encoded, again),
    },
  };
}
