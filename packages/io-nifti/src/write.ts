/**
 * Encoding {@link NiftiImage}s as single-file NIfTI-1 (or NIfTI-2 when needed), `.nii` or `.nii.gz`.
 * Output is always little-endian with vox_offset 352 (NIfTI-1) or 544 (NIfTI-2) plus any extensions.
 */
import { datatypeByCode, type DatatypeInfo, type NiftiTypedArray } from './datatypes.js';
import { NiftiError } from './errors.js';
import { webGzip, type Compressor } from './gzip.js';
import { cloneHeader, encodeHeader } from './header.js';
import type { NiftiImage } from './image.js';

/** Options for {@link encodeNifti}. */
export interface EncodeOptions {
  /** gzip the output (default false). */
  gzip?: boolean;
  /** gzip implementation (default: web `CompressionStream`). */
  compress?: Compressor;
  /**
   * Header format. `'auto'` (default) keeps the image's format, switching NIfTI-1 to NIfTI-2 only when a
   * dimension exceeds the int16 range.
   */
  format?: 'auto' | 'nifti1' | 'nifti2';
}

const INT16_MAX = 32767;

/** The header format an image will be written with. */
export function chooseFormat(image: NiftiImage, requested: EncodeOptions['format'] = 'auto'): 'nifti1' | 'nifti2' {
  const needs2 = image.header.dim.some((d) => d > INT16_MAX);
  if (requested === 'nifti1' && needs2) {
    throw new NiftiError(
      'BAD_ARGUMENT',
      `dim [${image.shape.join(', ')}] does not fit NIfTI-1 (max 32767 per axis); use NIfTI-2`,
    );
  }
  if (requested === 'nifti1' || requested === 'nifti2') return requested;
  return needs2 ? 'nifti2' : image.header.format;
}

/** Encodes an image as uncompressed single-file NIfTI bytes. */
export function encodeNiftiRaw(image: NiftiImage, format: EncodeOptions['format'] = 'auto'): Uint8Array {
  const fmt = chooseFormat(image, format);
  const h = cloneHeader(image.header);
  const dt = datatypeByCode(h.datatype);
  if (!dt) throw new NiftiError('BAD_DATATYPE', `cannot write datatype ${h.datatype}`);
  const head = encodeHeader(h, fmt, true);
  const out = new Uint8Array(head.length + image.data.length * dt.bytes);
  out.set(head, 0);
  encodeValues(image.data, dt, out, head.length);
  return out;
}

/** Encodes an image as `.nii` bytes, or `.nii.gz` bytes with `gzip: true`. */
export async function encodeNifti(image: NiftiImage, options: EncodeOptions = {}): Promise<Uint8Array> {
  const raw = encodeNiftiRaw(image, options.format);
  return options.gzip ? await (options.compress ?? webGzip)(raw) : raw;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Writes `values` as little-endian `dt` at `out[offset..]`. Same-class arrays are copied bytewise; anything
 * else is converted value by value and must be exactly representable (integers in range), otherwise the
 * write fails rather than silently rounding or wrapping.
 */
export function encodeValues(values: NiftiTypedArray, dt: DatatypeInfo, out: Uint8Array, offset: number): void {
  const n = values.length;
  const is64Int = dt.name === 'int64' || dt.name === 'uint64';
  if (!is64Int && values.constructor === dt.array && HOST_LITTLE_ENDIAN) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, n * dt.bytes), offset);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + offset, n * dt.bytes);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (dt.integer && (!Number.isInteger(v) || v < dt.min || v > dt.max)) {
      throw new NiftiError('NOT_EXACT', `value ${v} at voxel ${i} cannot be stored exactly as ${dt.name}`);
    }
    switch (dt.name) {
      case 'uint8':
        view.setUint8(i, v);
        break;
      case 'int8':
        view.setInt8(i, v);
        break;
      case 'int16':
        view.setInt16(i * 2, v, true);
        break;
      case 'uint16':
        view.setUint16(i * 2, v, true);
        break;
      case 'int32':
        view.setInt32(i * 4, v, true);
        break;
      case 'uint32':
        view.setUint32(i * 4, v, true);
        break;
      case 'float32':
        view.setFloat32(i * 4, v, true);
        break;
      case 'float64':
        view.setFloat64(i * 8, v, true);
        break;
      case 'int64':
        view.setBigInt64(i * 8, BigInt(v), true);
        break;
      case 'uint64':
        view.setBigUint64(i * 8, BigInt(v), true);
        break;
    }
  }
}
