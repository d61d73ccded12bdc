/**
 * NIfTI-1 and NIfTI-2 header parsing and encoding.
 *
 * The parser is strict on purpose: byte order is decided from `sizeof_hdr` (348/540 read either way),
 * never guessed from `dim[0]`, and every field the data layout depends on (magic, dim, datatype, bitpix)
 * is validated before anything is allocated. We parse ourselves rather than through nifti-reader-js
 * because it guesses the byte order from dim[0], accepts bad magic/bitpix/zero dims, and has no writer
 * to share the field layout with.
 */
import { KNOWN_UNSUPPORTED_DATATYPES, datatypeByCode, type DatatypeInfo } from './datatypes.js';
import { NiftiError } from './errors.js';
import { NIFTI1_FIELDS, NIFTI2_FIELDS, readFields, readString, writeFields } from './header-layout.js';

/** Size of the fixed NIfTI-1 header in bytes. */
export const NIFTI1_HEADER_SIZE = 348;
/** Size of the fixed NIfTI-2 header in bytes. */
export const NIFTI2_HEADER_SIZE = 540;

/** One header extension (ecode + payload, payload padded as stored). */
export interface NiftiExtension {
  /** Extension code (e.g. 6 = comment, 4 = AFNI). */
  code: number;
  /** Payload bytes (esize - 8 bytes). */
  data: Uint8Array;
}

/** Every field of a NIfTI-1/2 header, in float64/number form. */
export interface NiftiHeader {
  format: 'nifti1' | 'nifti2';
  /** Byte order of the file the header came from (writers always produce little-endian). */
  littleEndian: boolean;
  /** `n+1`/`n+2` for single files, `ni1`/`ni2` for .hdr/.img pairs. */
  magic: string;
  dimInfo: number;
  /** All 8 entries; dim[0] is the number of dimensions. */
  dim: number[];
  intentP1: number;
  intentP2: number;
  intentP3: number;
  intentCode: number;
  intentName: string;
  datatype: number;
  bitpix: number;
  sliceStart: number;
  sliceEnd: number;
  sliceCode: number;
  sliceDuration: number;
  /** All 8 entries; pixdim[0] is qfac. */
  pixdim: number[];
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  calMax: number;
  calMin: number;
  toffset: number;
  xyztUnits: number;
  descrip: string;
  auxFile: string;
  qformCode: number;
  sformCode: number;
  quaternB: number;
  quaternC: number;
  quaternD: number;
  qoffsetX: number;
  qoffsetY: number;
  qoffsetZ: number;
  srowX: number[];
  srowY: number[];
  srowZ: number[];
  extensions: NiftiExtension[];
}

/** Options for header validation. */
export interface HeaderLimits {
  /** Largest data size in bytes accepted before allocating (default 2^32, about the typed-array limit of Node). */
  maxBytes?: number;
}

/** Default upper bound on the data size: 4 GiB. */
export const DEFAULT_MAX_BYTES = 2 ** 32;

/** Result of {@link parseHeader}. */
export interface ParsedHeader {
  header: NiftiHeader;
  datatype: DatatypeInfo;
  /** Size of the fixed header (348 or 540). */
  headerSize: number;
  /** Number of voxels (product of dim[1..dim[0]]). */
  voxels: number;
  /** Number of data bytes. */
  dataBytes: number;
}

/** A blank header with neutral values (identity scaling, no orientation). */
export function emptyHeader(): NiftiHeader {
  return {
    format: 'nifti1',
    littleEndian: true,
    magic: 'n+1',
    dimInfo: 0,
    dim: [3, 1, 1, 1, 1, 1, 1, 1],
    intentP1: 0,
    intentP2: 0,
    intentP3: 0,
    intentCode: 0,
    intentName: '',
    datatype: 16,
    bitpix: 32,
    sliceStart: 0,
    sliceEnd: 0,
    sliceCode: 0,
    sliceDuration: 0,
    pixdim: [1, 1, 1, 1, 1, 1, 1, 1],
    voxOffset: 352,
    sclSlope: 1,
    sclInter: 0,
    calMax: 0,
    calMin: 0,
    toffset: 0,
    xyztUnits: 10, // mm + seconds
    descrip: '',
    auxFile: '',
    qformCode: 0,
    sformCode: 0,
    quaternB: 0,
    quaternC: 0,
    quaternD: 0,
    qoffsetX: 0,
    qoffsetY: 0,
    qoffsetZ: 0,
    srowX: [0, 0, 0, 0],
    srowY: [0, 0, 0, 0],
    srowZ: [0, 0, 0, 0],
    extensions: [],
  };
}

/** Deep copy of a header (extension payloads are shared, they are never mutated). */
export function cloneHeader(h: NiftiHeader): NiftiHeader {
  return {
    ...h,
    dim: [...h.dim],
    pixdim: [...h.pixdim],
    srowX: [...h.srowX],
    srowY: [...h.srowY],
    srowZ: [...h.srowZ],
    extensions: h.extensions.map((e) => ({ ...e })),
  };
}

/** Byte order and format of a header, detected from `sizeof_hdr` only. */
function detectFormat(view: DataView, file?: string): { format: 'nifti1' | 'nifti2'; littleEndian: boolean } {
  const le = view.getInt32(0, true);
  const be = view.getInt32(0, false);
  if (le === NIFTI1_HEADER_SIZE) return { format: 'nifti1', littleEndian: true };
  if (be === NIFTI1_HEADER_SIZE) return { format: 'nifti1', littleEndian: false };
  if (le === NIFTI2_HEADER_SIZE) return { format: 'nifti2', littleEndian: true };
  if (be === NIFTI2_HEADER_SIZE) return { format: 'nifti2', littleEndian: false };
  throw new NiftiError(
    'BAD_SIZEOF_HDR',
    `sizeof_hdr is ${le} (byte-swapped ${be}); a NIfTI-1 header has 348 and a NIfTI-2 header 540`,
    file,
  );
}

/**
 * Parses and validates the fixed header: byte order, magic, datatype/bitpix, dims, data size and vox_offset.
 * Extensions are not read here (see {@link parseExtensions}): where they end depends on the file layout.
 *
 * @param bytes - header bytes (for single files: the whole uncompressed file).
 * @param file - name used in error messages.
 */
export function parseHeader(bytes: Uint8Array, file?: string, limits: HeaderLimits = {}): ParsedHeader {
  if (bytes.length < 4) {
    throw new NiftiError('TRUNCATED_HEADER', `only ${bytes.length} bytes; too short for a NIfTI header`, file);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { format, littleEndian: le } = detectFormat(view, file);
  const headerSize = format === 'nifti1' ? NIFTI1_HEADER_SIZE : NIFTI2_HEADER_SIZE;
  if (bytes.length < headerSize) {
    throw new NiftiError(
      'TRUNCATED_HEADER',
      `only ${bytes.length} bytes; a ${format === 'nifti1' ? 'NIfTI-1' : 'NIfTI-2'} header needs ${headerSize}`,
      file,
    );
  }
  const h = emptyHeader();
  h.format = format;
  h.littleEndian = le;
  readFields(bytes, format === 'nifti1' ? NIFTI1_FIELDS : NIFTI2_FIELDS, le, h);
  validateMagic(bytes, format, file);
  h.magic = readString(bytes, format === 'nifti1' ? 344 : 4, 3);
  const datatype = validateDatatype(h, file);
  const voxels = validateDims(h, file);
  const dataBytes = voxels * datatype.bytes;
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!(dataBytes <= maxBytes)) {
    throw new NiftiError(
      'TOO_LARGE',
      `dim [${h.dim.slice(1, h.dim[0]! + 1).join(', ')}] means ${Number.isSafeInteger(dataBytes) ? dataBytes : dataBytes.toExponential(3)} data bytes, over the limit of ${maxBytes}`,
      file,
    );
  }
  validateVoxOffset(h, headerSize, file);
  return { header: h, datatype, headerSize, voxels, dataBytes };
}

function validateMagic(bytes: Uint8Array, format: 'nifti1' | 'nifti2', file?: string): void {
  if (format === 'nifti1') {
    const m = [bytes[344], bytes[345], bytes[346], bytes[347]];
    const ok = m[0] === 0x6e && (m[1] === 0x2b || m[1] === 0x69) && m[2] === 0x31 && m[3] === 0;
    if (!ok) {
      throw new NiftiError(
        'BAD_MAGIC',
        `magic is ${escapeBytes(bytes.subarray(344, 348))}, expected "n+1\\0" or "ni1\\0"`,
        file,
      );
    }
    return;
  }
  const m = Array.from(bytes.subarray(4, 12));
  const tail = [0, 0x0d, 0x0a, 0x1a, 0x0a];
  const prefixOk = m[0] === 0x6e && (m[1] === 0x2b || m[1] === 0x69) && m[2] === 0x32;
  if (!prefixOk || !tail.every((b, i) => m[3 + i] === b)) {
    throw new NiftiError(
      'BAD_MAGIC',
      `NIfTI-2 magic is ${escapeBytes(bytes.subarray(4, 12))}, expected "n+2" or "ni2" followed by ` +
        '"\\0\\r\\n\\x1a\\n" (bytes 00 0d 0a 1a 0a)' +
        (prefixOk
          ? '; only these trailing bytes are wrong, as after a text-mode transfer that converted line endings'
          : ''),
      file,
    );
  }
}

/** Bytes as a quoted string, printable ASCII as is and everything else escaped (`\0`, `\r`, `\xHH`). */
function escapeBytes(bytes: Uint8Array): string {
  const named: Record<number, string> = { 0: '\\0', 9: '\\t', 10: '\\n', 13: '\\r', 34: '\\"', 92: '\\\\' };
  let out = '';
  for (const b of bytes) {
    out += named[b] ?? (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`);
  }
  return `"${out}"`;
}

function validateDatatype(h: NiftiHeader, file?: string): DatatypeInfo {
  const dt = datatypeByCode(h.datatype);
  if (!dt) {
    const known = KNOWN_UNSUPPORTED_DATATYPES[h.datatype];
    throw new NiftiError(
      'BAD_DATATYPE',
      known
        ? `datatype ${h.datatype} (${known}) is not supported`
        : `datatype ${h.datatype} is not a NIfTI datatype code`,
      file,
    );
  }
  if (h.bitpix !== dt.bytes * 8) {
    throw new NiftiError(
      'BITPIX_MISMATCH',
      `bitpix is ${h.bitpix} but datatype ${dt.name} has ${dt.bytes * 8} bits`,
      file,
    );
  }
  return dt;
}

function validateDims(h: NiftiHeader, file?: string): number {
  const n = h.dim[0]!;
  if (!Number.isInteger(n) || n < 1 || n > 7) {
    throw new NiftiError('BAD_DIM', `dim[0] is ${n}; it must be 1..7`, file);
  }
  let voxels = 1;
  for (let i = 1; i <= n; i++) {
    const d = h.dim[i]!;
    if (!Number.isSafeInteger(d) || d < 1) {
      throw new NiftiError('BAD_DIM', `dim[${i}] is ${d}; every used dimension must be a positive integer`, file);
    }
    voxels *= d;
  }
  if (!Number.isSafeInteger(voxels)) {
    throw new NiftiError(
      'TOO_LARGE',
      `dim [${h.dim.slice(1, n + 1).join(', ')}] has ${voxels.toExponential(3)} voxels, beyond exact integer range`,
      file,
    );
  }
  return voxels;
}

function validateVoxOffset(h: NiftiHeader, headerSize: number, file?: string): void {
  const single = h.magic[1] === '+';
  const min = single ? headerSize + 4 : 0;
  if (!Number.isInteger(h.voxOffset) || h.voxOffset < min) {
    throw new NiftiError(
      'BAD_VOX_OFFSET',
      single
        ? `vox_offset is ${h.voxOffset}; in a single file it must be an integer >= ${min} (data would overlap the header)`
        : `vox_offset is ${h.voxOffset}; it must be a non-negative integer`,
      file,
    );
  }
}

/**
 * Reads the extensions that follow the fixed header, between `headerSize + 4` and `end`.
 * A malformed extension list is an error: it means the header and data offsets cannot be trusted.
 */
export function parseExtensions(
  bytes: Uint8Array,
  headerSize: number,
  end: number,
  littleEndian: boolean,
  file?: string,
): NiftiExtension[] {
  if (bytes.length < headerSize + 4 || end < headerSize + 4 || bytes[headerSize] === 0) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: NiftiExtension[] = [];
  let at = headerSize + 4;
  const stop = Math.min(end, bytes.length);
  while (at + 8 <= stop) {
    const esize = view.getInt32(at, littleEndian);
    const ecode = view.getInt32(at + 4, littleEndian);
    if (esize < 16 || esize % 16 !== 0 || at + esize > stop) {
      throw new NiftiError(
        'BAD_VOX_OFFSET',
        `header extension at byte ${at} has size ${esize}, which does not fit before the data`,
        file,
      );
    }
    out.push({ code: ecode, data: bytes.slice(at + 8, at + esize) });
    at += esize;
  }
  return out;
}

/** Total on-disk size of extensions (each is 8 bytes + payload, padded to 16). */
export function extensionsSize(extensions: readonly NiftiExtension[]): number {
  return extensions.reduce((n, e) => n + paddedExtensionSize(e), 0);
}

function paddedExtensionSize(e: NiftiExtension): number {
  return Math.ceil((e.data.length + 8) / 16) * 16;
}

/**
 * Encodes a header (little-endian) followed by the 4-byte extender and extensions. `sizeof_hdr`, magic,
 * bitpix and vox_offset are derived here, so callers only set dims, datatype and geometry.
 */
export function encodeHeader(h: NiftiHeader, format: 'nifti1' | 'nifti2', single = true): Uint8Array {
  const dt = datatypeByCode(h.datatype);
  if (!dt) throw new NiftiError('BAD_DATATYPE', `cannot write datatype ${h.datatype}`);
  const headerSize = format === 'nifti1' ? NIFTI1_HEADER_SIZE : NIFTI2_HEADER_SIZE;
  const total = headerSize + 4 + extensionsSize(h.extensions);
  const bytes = new Uint8Array(total);
  const v = new DataView(bytes.buffer);
  const derived = { ...h, bitpix: dt.bytes * 8, voxOffset: single ? total : 0 };
  v.setInt32(0, headerSize, true);
  if (format === 'nifti1') {
    writeFields(bytes, NIFTI1_FIELDS, derived);
    bytes.set([0x6e, single ? 0x2b : 0x69, 0x31, 0], 344);
  } else {
    bytes.set([0x6e, single ? 0x2b : 0x69, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a], 4);
    writeFields(bytes, NIFTI2_FIELDS, derived);
  }
  if (h.extensions.length > 0) {
    bytes[headerSize] = 1;
    let at = headerSize + 4;
    for (const e of h.extensions) {
      const size = paddedExtensionSize(e);
      v.setInt32(at, size, true);
      v.setInt32(at + 4, e.code, true);
      bytes.set(e.data, at + 8);
      at += size;
    }
  }
  return bytes;
}
