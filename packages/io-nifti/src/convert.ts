/**
 * Datatype conversion and the header/value summary behind `mednext nifti info`.
 */
import { datatypeByCode, datatypeByName, type DatatypeInfo, type NiftiTypedArray } from './datatypes.js';
import { NiftiError } from './errors.js';
import { cloneHeader } from './header.js';
import { NiftiImage } from './image.js';
import { computeStats, float64LittleEndianBytes } from './stats.js';

/** Looks up a datatype by name (`int16`) or NIfTI code (`4`); throws a clear error otherwise. */
export function resolveDatatype(nameOrCode: string | number): DatatypeInfo {
  const dt =
    typeof nameOrCode === 'number' || /^\d+$/.test(nameOrCode)
      ? datatypeByCode(Number(nameOrCode))
      : datatypeByName(String(nameOrCode).toLowerCase());
  if (!dt) {
    throw new NiftiError(
      'BAD_ARGUMENT',
      `unknown datatype "${nameOrCode}"; use one of uint8, int8, int16, uint16, int32, uint32, float32, float64, int64, uint64`,
    );
  }
  return dt;
}

/** Result of {@link convertDatatype}. */
export interface ConversionResult {
  image: NiftiImage;
  /** How many voxels were rounded to the nearest integer (integer targets only). */
  rounded: number;
}

/**
 * Stores the image's scaled values as another datatype, with scaling reset to none. Integer targets round
 * to the nearest integer (ties away from zero) and reject values outside the type's range or non-finite
 * values; float32 rounds to nearest. Converting to the current datatype returns the image unchanged.
 */
export function convertDatatype(image: NiftiImage, target: string | number, file?: string): ConversionResult {
  const dt = resolveDatatype(target);
  if (dt.code === image.header.datatype) return { image, rounded: 0 };
  const values = image.scaledValues();
  const out = new dt.array(values.length) as NiftiTypedArray;
  let rounded = 0;
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!;
    if (dt.integer) {
      if (!Number.isFinite(v)) {
        throw new NiftiError('NOT_EXACT', `voxel ${i} is ${v}, which ${dt.name} cannot hold`, file);
      }
      const r = Math.sign(v) * Math.round(Math.abs(v));
      if (r !== v) rounded++;
      v = r;
      if (v < dt.min || v > dt.max) {
        throw new NiftiError(
          'NOT_EXACT',
          `voxel ${i} is ${values[i]}, outside the ${dt.name} range ${dt.min}..${dt.max}`,
          file,
        );
      }
    }
    out[i] = v;
  }
  const h = cloneHeader(image.header);
  h.datatype = dt.code;
  h.bitpix = dt.bytes * 8;
  h.sclSlope = 1;
  h.sclInter = 0;
  return { image: new NiftiImage(h, out, image.affineFallback), rounded };
}

/** What `mednext nifti info --json` prints for one file. */
export interface NiftiSummary {
  format: 'nifti1' | 'nifti2';
  endianness: 'little' | 'big';
  /** dim[1..dim[0]]. */
  dims: number[];
  datatype: string;
  /** pixdim[1..dim[0]]. */
  pixdim: number[];
  qfac: number;
  xyztUnits: number;
  sclSlope: number;
  sclInter: number;
  /** Whether the scaling is applied (slope finite and non-zero, and not (1, 0)). */
  scaled: boolean;
  qformCode: number;
  sformCode: number;
  /** Best affine, 4x4 row-major (sform, else qform, else NIfTI method 1). */
  affine: number[][];
  orientation: string;
  descrip: string;
  extensions: number;
  /** Statistics of the scaled values (finite values only for min/max/sum/mean). */
  count: number;
  nonZero: number;
  nan: number;
  infinite: number;
  min: number;
  max: number;
  /** Exactly rounded sum. */
  sum: number;
  mean: number;
  /** SHA-256 of the scaled values as float64 little-endian in on-disk order (x fastest), NaN canonical. */
  sha256: string;
}

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Header summary and value statistics of an image (uses the web `crypto.subtle` for the hash). */
export async function summarizeNifti(image: NiftiImage): Promise<NiftiSummary> {
  const h = image.header;
  const values = image.scaledValues();
  const stats = computeStats(values);
  const digest = await globalThis.crypto.subtle.digest(
    'SHA-256',
    float64LittleEndianBytes(values) as Uint8Array<ArrayBuffer>,
  );
  const n = h.dim[0]!;
  return {
    format: h.format,
    endianness: h.littleEndian ? 'little' : 'big',
    dims: image.shape,
    datatype: image.datatype.name,
    pixdim: h.pixdim.slice(1, n + 1),
    qfac: h.pixdim[0]! < 0 ? -1 : 1,
    xyztUnits: h.xyztUnits,
    sclSlope: h.sclSlope,
    sclInter: h.sclInter,
    scaled: image.scaling !== null,
    qformCode: h.qformCode,
    sformCode: h.sformCode,
    affine: image.affine,
    orientation: image.orientation,
    descrip: h.descrip,
    extensions: h.extensions.length,
    count: stats.count,
    nonZero: stats.nonZero,
    nan: stats.nan,
    infinite: stats.infinite,
    min: stats.min,
    max: stats.max,
    sum: stats.sum,
    mean: stats.mean,
    sha256: hex(digest),
  };
}
