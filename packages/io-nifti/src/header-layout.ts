/**
 * Where each NIfTI-1 and NIfTI-2 header field sits and how it is stored. The reader and the writer both
 * walk these tables, so a field's offset and type are stated once per format.
 */
import { NiftiError } from './errors.js';
import type { NiftiHeader } from './header.js';

/** Storage type of a numeric field. */
type Kind = 'u8' | 'i16' | 'i32' | 'i64' | 'f32' | 'f64';

/** Keys of the header fields whose type is exactly `T`. */
type KeysOf<T> = {
  [K in keyof NiftiHeader]: [NiftiHeader[K]] extends [T] ? ([T] extends [NiftiHeader[K]] ? K : never) : never;
}[keyof NiftiHeader];

/** One header field: a number, a fixed-length array of numbers, or a NUL-terminated Latin-1 string. */
type Field =
  | { key: KeysOf<number>; name: string; at: number; kind: Kind }
  | { key: KeysOf<number[]>; name: string; at: number; kind: Kind; count: number }
  | { key: KeysOf<string>; at: number; length: number };

const SIZE: Record<Kind, number> = { u8: 1, i16: 2, i32: 4, i64: 8, f32: 4, f64: 8 };

/**
 * NIfTI-1 fields after `sizeof_hdr`, except the magic. Bytes 4..38 (unused Analyze fields, including
 * `regular`) are not listed: they stay zero, as nibabel writes them.
 */
export const NIFTI1_FIELDS: readonly Field[] = [
  { key: 'dimInfo', name: 'dim_info', at: 39, kind: 'u8' },
  { key: 'dim', name: 'dim', at: 40, kind: 'i16', count: 8 },
  { key: 'intentP1', name: 'intent_p1', at: 56, kind: 'f32' },
  { key: 'intentP2', name: 'intent_p2', at: 60, kind: 'f32' },
  { key: 'intentP3', name: 'intent_p3', at: 64, kind: 'f32' },
  { key: 'intentCode', name: 'intent_code', at: 68, kind: 'i16' },
  { key: 'datatype', name: 'datatype', at: 70, kind: 'i16' },
  { key: 'bitpix', name: 'bitpix', at: 72, kind: 'i16' },
  { key: 'sliceStart', name: 'slice_start', at: 74, kind: 'i16' },
  { key: 'pixdim', name: 'pixdim', at: 76, kind: 'f32', count: 8 },
  { key: 'voxOffset', name: 'vox_offset', at: 108, kind: 'f32' },
  { key: 'sclSlope', name: 'scl_slope', at: 112, kind: 'f32' },
  { key: 'sclInter', name: 'scl_inter', at: 116, kind: 'f32' },
  { key: 'sliceEnd', name: 'slice_end', at: 120, kind: 'i16' },
  { key: 'sliceCode', name: 'slice_code', at: 122, kind: 'u8' },
  { key: 'xyztUnits', name: 'xyzt_units', at: 123, kind: 'u8' },
  { key: 'calMax', name: 'cal_max', at: 124, kind: 'f32' },
  { key: 'calMin', name: 'cal_min', at: 128, kind: 'f32' },
  { key: 'sliceDuration', name: 'slice_duration', at: 132, kind: 'f32' },
  { key: 'toffset', name: 'toffset', at: 136, kind: 'f32' },
  { key: 'descrip', at: 148, length: 80 },
  { key: 'auxFile', at: 228, length: 24 },
  { key: 'qformCode', name: 'qform_code', at: 252, kind: 'i16' },
  { key: 'sformCode', name: 'sform_code', at: 254, kind: 'i16' },
  { key: 'quaternB', name: 'quatern_b', at: 256, kind: 'f32' },
  { key: 'quaternC', name: 'quatern_c', at: 260, kind: 'f32' },
  { key: 'quaternD', name: 'quatern_d', at: 264, kind: 'f32' },
  { key: 'qoffsetX', name: 'qoffset_x', at: 268, kind: 'f32' },
  { key: 'qoffsetY', name: 'qoffset_y', at: 272, kind: 'f32' },
  { key: 'qoffsetZ', name: 'qoffset_z', at: 276, kind: 'f32' },
  { key: 'srowX', name: 'srow_x', at: 280, kind: 'f32', count: 4 },
  { key: 'srowY', name: 'srow_y', at: 296, kind: 'f32', count: 4 },
  { key: 'srowZ', name: 'srow_z', at: 312, kind: 'f32', count: 4 },
  { key: 'intentName', at: 328, length: 16 },
];

/** NIfTI-2 fields after `sizeof_hdr` and the 8-byte magic. */
export const NIFTI2_FIELDS: readonly Field[] = [
  { key: 'datatype', name: 'datatype', at: 12, kind: 'i16' },
  { key: 'bitpix', name: 'bitpix', at: 14, kind: 'i16' },
  { key: 'dim', name: 'dim', at: 16, kind: 'i64', count: 8 },
  { key: 'intentP1', name: 'intent_p1', at: 80, kind: 'f64' },
  { key: 'intentP2', name: 'intent_p2', at: 88, kind: 'f64' },
  { key: 'intentP3', name: 'intent_p3', at: 96, kind: 'f64' },
  { key: 'pixdim', name: 'pixdim', at: 104, kind: 'f64', count: 8 },
  { key: 'voxOffset', name: 'vox_offset', at: 168, kind: 'i64' },
  { key: 'sclSlope', name: 'scl_slope', at: 176, kind: 'f64' },
  { key: 'sclInter', name: 'scl_inter', at: 184, kind: 'f64' },
  { key: 'calMax', name: 'cal_max', at: 192, kind: 'f64' },
  { key: 'calMin', name: 'cal_min', at: 200, kind: 'f64' },
  { key: 'sliceDuration', name: 'slice_duration', at: 208, kind: 'f64' },
  { key: 'toffset', name: 'toffset', at: 216, kind: 'f64' },
  { key: 'sliceStart', name: 'slice_start', at: 224, kind: 'i64' },
  { key: 'sliceEnd', name: 'slice_end', at: 232, kind: 'i64' },
  { key: 'descrip', at: 240, length: 80 },
  { key: 'auxFile', at: 320, length: 24 },
  { key: 'qformCode', name: 'qform_code', at: 344, kind: 'i32' },
  { key: 'sformCode', name: 'sform_code', at: 348, kind: 'i32' },
  { key: 'quaternB', name: 'quatern_b', at: 352, kind: 'f64' },
  { key: 'quaternC', name: 'quatern_c', at: 360, kind: 'f64' },
  { key: 'quaternD', name: 'quatern_d', at: 368, kind: 'f64' },
  { key: 'qoffsetX', name: 'qoffset_x', at: 376, kind: 'f64' },
  { key: 'qoffsetY', name: 'qoffset_y', at: 384, kind: 'f64' },
  { key: 'qoffsetZ', name: 'qoffset_z', at: 392, kind: 'f64' },
  { key: 'srowX', name: 'srow_x', at: 400, kind: 'f64', count: 4 },
  { key: 'srowY', name: 'srow_y', at: 432, kind: 'f64', count: 4 },
  { key: 'srowZ', name: 'srow_z', at: 464, kind: 'f64', count: 4 },
  { key: 'sliceCode', name: 'slice_code', at: 496, kind: 'i32' },
  { key: 'xyztUnits', name: 'xyzt_units', at: 500, kind: 'i32' },
  { key: 'intentCode', name: 'intent_code', at: 504, kind: 'i32' },
  { key: 'intentName', at: 508, length: 16 },
  { key: 'dimInfo', name: 'dim_info', at: 524, kind: 'u8' },
];

/** Reads `fields` from a header into `h`, in the file's byte order. */
export function readFields(bytes: Uint8Array, fields: readonly Field[], littleEndian: boolean, h: NiftiHeader): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const f of fields) {
    if ('length' in f) h[f.key] = readString(bytes, f.at, f.length);
    else if ('count' in f) {
      h[f.key] = Array.from({ length: f.count }, (_, i) =>
        readNumber(v, f.at + i * SIZE[f.kind], f.kind, littleEndian),
      );
    } else h[f.key] = readNumber(v, f.at, f.kind, littleEndian);
  }
}

/**
 * Writes `fields` of `h` little-endian. Integer fields that do not fit their int16 slot are an error naming
 * the field; arrays are written for as many entries as they have.
 */
export function writeFields(bytes: Uint8Array, fields: readonly Field[], h: NiftiHeader): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const f of fields) {
    if ('length' in f) writeString(bytes, f.at, f.length, h[f.key]);
    else if ('count' in f) {
      h[f.key].forEach((x, i) => writeNumber(v, f.at + i * SIZE[f.kind], f.kind, x, `${f.name}[${i}]`));
    } else writeNumber(v, f.at, f.kind, h[f.key], f.name);
  }
}

function readNumber(v: DataView, at: number, kind: Kind, le: boolean): number {
  switch (kind) {
    case 'u8':
      return v.getUint8(at);
    case 'i16':
      return v.getInt16(at, le);
    case 'i32':
      return v.getInt32(at, le);
    case 'i64':
      // int64 fields become numbers; values beyond 2^53 become non-safe numbers that validation rejects.
      return Number(v.getBigInt64(at, le));
    case 'f32':
      return v.getFloat32(at, le);
    case 'f64':
      return v.getFloat64(at, le);
  }
}

function writeNumber(v: DataView, at: number, kind: Kind, x: number, name: string): void {
  switch (kind) {
    case 'u8':
      return v.setUint8(at, x & 0xff);
    case 'i16':
      return v.setInt16(at, checkInt16(name, x), true);
    case 'i32':
      return v.setInt32(at, x, true);
    case 'i64':
      return v.setBigInt64(at, BigInt(x), true);
    case 'f32':
      return v.setFloat32(at, x, true);
    case 'f64':
      return v.setFloat64(at, x, true);
  }
}

function checkInt16(name: string, value: number): number {
  if (!Number.isInteger(value) || value < -32768 || value > 32767) {
    throw new NiftiError('BAD_ARGUMENT', `${name} = ${value} does not fit the NIfTI-1 int16 field`);
  }
  return value;
}

/** Reads a NUL-terminated Latin-1 string of at most `length` bytes. */
export function readString(bytes: Uint8Array, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && bytes[end] !== 0) end++;
  let s = '';
  for (let i = offset; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function writeString(bytes: Uint8Array, offset: number, length: number, value: string): void {
  // Latin-1, truncated to leave room for the terminating NUL the standard expects.
  const n = Math.min(value.length, length - 1);
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    bytes[offset + i] = c < 256 ? c : 0x3f;
  }
}
