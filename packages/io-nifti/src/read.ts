/**
 * Decoding NIfTI bytes (single `.nii`/`.nii.gz` files and `.hdr`/`.img` pairs) into {@link NiftiImage}s.
 */
import { assertFiniteGeometry, type AffineFallback } from './affine.js';
import type { DatatypeInfo, NiftiTypedArray } from './datatypes.js';
import { NiftiError } from './errors.js';
import {
  InflateLimitError,
  isGzip,
  webGunzipBounded,
  type BoundedDecompressor,
  type Decompressor,
  type OutputLimit,
} from './gzip.js';
import { NIFTI1_HEADER_SIZE, NIFTI2_HEADER_SIZE, parseExtensions, parseHeader, type HeaderLimits } from './header.js';
import { NiftiImage } from './image.js';

/** Options for decoding. */
export interface DecodeOptions extends HeaderLimits {
  /** Name used in error messages. */
  file?: string;
  /**
   * Streaming gunzip that stops at the size the header implies (default: web `DecompressionStream`;
   * `@mednext-ts/io-nifti/node` passes node:zlib).
   */
  boundedDecompress?: BoundedDecompressor;
  /**
   * A one-shot gunzip (e.g. fflate's) used instead of `boundedDecompress`. It cannot be stopped midway, so a
   * gzip bomb is only rejected after it has been inflated: prefer `boundedDecompress` for untrusted files.
   */
  decompress?: Decompressor;
  /** Affine when both codes are 0: `'method1'` (default, diag(pixdim)) or `'analyze'` (nibabel's). */
  affineFallback?: AffineFallback;
}

/**
 * Inflates `bytes` when gzipped, bounded by `limit` (see {@link OutputLimit}). A user-supplied `decompress`
 * cannot be stopped midway, so its output is only checked against the limit afterwards.
 */
async function gunzipChecked(bytes: Uint8Array, options: DecodeOptions, limit: OutputLimit): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  try {
    if (options.decompress) {
      const raw = await options.decompress(bytes);
      const max = limit(raw);
      if (max !== undefined && raw.length > max) throw new InflateLimitError(max);
      return raw;
    }
    return await (options.boundedDecompress ?? webGunzipBounded)(bytes, limit);
  } catch (error) {
    if (error instanceof NiftiError) throw error;
    if (error instanceof InflateLimitError) throw inflatedTooLarge(error, options.file);
    const why = error instanceof Error ? error.message : String(error);
    throw new NiftiError('BAD_GZIP', `gzip stream is corrupt or truncated (${why})`, options.file, { cause: error });
  }
}

function inflatedTooLarge(error: InflateLimitError, file?: string): NiftiError {
  return new NiftiError(
    'TOO_LARGE',
    `gzip stream inflates to more than the ${error.limit} bytes its header implies (vox_offset + data size); ` +
      'stopped there (a corrupt or malicious file)',
    file,
    { cause: error },
  );
}

/** Fixed header size announced by the first 4 bytes, or `undefined` when fewer are present. */
function announcedHeaderSize(head: Uint8Array): number | undefined {
  if (head.length < 4) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, 4);
  const le = view.getInt32(0, true);
  const be = view.getInt32(0, false);
  // Anything else is left to parseHeader, which names the problem.
  return le === NIFTI2_HEADER_SIZE || be === NIFTI2_HEADER_SIZE ? NIFTI2_HEADER_SIZE : NIFTI1_HEADER_SIZE;
}

/** Limit for a single-file image: vox_offset (header and extensions) plus the data size the header implies. */
function singleFileLimit(options: DecodeOptions): OutputLimit {
  return (head) => {
    const size = announcedHeaderSize(head);
    if (size === undefined || head.length < size) return undefined;
    const parsed = parseHeader(head, options.file, options);
    requireSingleFile(parsed.header.magic, options.file);
    return parsed.header.voxOffset + parsed.dataBytes;
  };
}

/** A `.hdr` holds the fixed header and its extensions; 16 MiB of extensions is far beyond any real file. */
const MAX_PAIR_HEADER_BYTES = NIFTI2_HEADER_SIZE + 4 + (1 << 24);

function requireSingleFile(magic: string, file?: string): void {
  if (magic[1] !== '+') {
    throw new NiftiError('BAD_MAGIC', `magic "${magic}" marks a .hdr/.img pair; read it with the pair reader`, file);
  }
}

/**
 * Decodes a single-file NIfTI-1/2 image (`.nii`, or `.nii.gz` when the bytes are gzipped).
 * Rejects malformed input with a {@link NiftiError}; never returns partial data.
 */
export async function decodeNifti(bytes: Uint8Array, options: DecodeOptions = {}): Promise<NiftiImage> {
  const raw = await gunzipChecked(bytes, options, singleFileLimit(options));
  return decodeNiftiUncompressed(raw, options, raw !== bytes);
}

/** Synchronous {@link decodeNifti} for uncompressed bytes (or with a synchronous `gunzip`). */
export function decodeNiftiSync(
  bytes: Uint8Array,
  options: Omit<DecodeOptions, 'decompress' | 'boundedDecompress'> & { gunzip?: (gz: Uint8Array) => Uint8Array } = {},
): NiftiImage {
  if (!isGzip(bytes)) return decodeNiftiUncompressed(bytes, options, false);
  if (!options.gunzip) {
    throw new NiftiError('BAD_ARGUMENT', 'data is gzipped; pass a synchronous gunzip or use decodeNifti', options.file);
  }
  let raw: Uint8Array;
  try {
    raw = options.gunzip(bytes);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new NiftiError('BAD_GZIP', `gzip stream is corrupt or truncated (${why})`, options.file, { cause: error });
  }
  const max = singleFileLimit(options)(raw);
  if (max !== undefined && raw.length > max) throw inflatedTooLarge(new InflateLimitError(max), options.file);
  return decodeNiftiUncompressed(raw, options, true);
}

/**
 * @param owned - whether `bytes` is a private buffer (fresh from gunzip or a file read) that the image may
 *   keep a view on instead of copying.
 */
export function decodeNiftiUncompressed(bytes: Uint8Array, options: DecodeOptions, owned: boolean): NiftiImage {
  const file = options.file;
  const parsed = parseHeader(bytes, file, options);
  const { header, datatype, headerSize, dataBytes } = parsed;
  requireSingleFile(header.magic, file);
  assertFiniteGeometry(header, options.affineFallback, file);
  if (header.voxOffset > bytes.length) {
    throw new NiftiError(
      'BAD_VOX_OFFSET',
      `vox_offset ${header.voxOffset} is past the end of the file (${bytes.length} bytes)`,
      file,
    );
  }
  header.extensions = parseExtensions(bytes, headerSize, header.voxOffset, header.littleEndian, file);
  const available = bytes.length - header.voxOffset;
  if (available < dataBytes) {
    throw new NiftiError(
      'TRUNCATED_DATA',
      `data needs ${dataBytes} bytes after vox_offset ${header.voxOffset} but only ${available} are present`,
      file,
    );
  }
  const data = decodeData(bytes, header.voxOffset, parsed.voxels, datatype, header.littleEndian, owned, file);
  return new NiftiImage(header, data, options.affineFallback);
}

/**
 * Decodes a NIfTI-1/2 `.hdr`/`.img` pair (magic `ni1`/`ni2`); either part may be gzipped.
 * `options.file` should name the header; errors about the data name the image file as `<file> (.img)`.
 */
export async function decodeNiftiPair(
  hdr: Uint8Array,
  img: Uint8Array,
  options: DecodeOptions & { imgFile?: string; owned?: boolean } = {},
): Promise<NiftiImage> {
  const hdrBytes = await gunzipChecked(hdr, options, () => MAX_PAIR_HEADER_BYTES);
  const imgFile = options.imgFile ?? (options.file ? `${options.file} (.img)` : undefined);
  const parsed = parseHeader(hdrBytes, options.file, options);
  const { header, datatype, headerSize, dataBytes } = parsed;
  if (header.magic[1] !== 'i') {
    throw new NiftiError(
      'BAD_MAGIC',
      `magic "${header.magic}" marks a single-file image, not a .hdr/.img pair`,
      options.file,
    );
  }
  assertFiniteGeometry(header, options.affineFallback, options.file);
  const imgBytes = await gunzipChecked(img, { ...options, file: imgFile }, () => header.voxOffset + dataBytes);
  header.extensions = parseExtensions(hdrBytes, headerSize, hdrBytes.length, header.littleEndian, options.file);
  if (header.voxOffset > imgBytes.length) {
    throw new NiftiError(
      'BAD_VOX_OFFSET',
      `vox_offset ${header.voxOffset} is past the end of the image file (${imgBytes.length} bytes)`,
      imgFile,
    );
  }
  const available = imgBytes.length - header.voxOffset;
  if (available < dataBytes) {
    throw new NiftiError(
      'TRUNCATED_DATA',
      `data needs ${dataBytes} bytes after offset ${header.voxOffset} but only ${available} are present`,
      imgFile,
    );
  }
  const owned = imgBytes !== img || options.owned === true;
  const data = decodeData(imgBytes, header.voxOffset, parsed.voxels, datatype, header.littleEndian, owned, imgFile);
  return new NiftiImage(header, data, options.affineFallback);
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Smallest buffer the image may view instead of copying; Node pools allocations below 4 KiB. */
const MIN_VIEW_BYTES = 1 << 16;

/** Copies (or views, when owned, aligned and native) the data bytes as a typed array, byte-swapping big-endian files. */
function decodeData(
  bytes: Uint8Array,
  offset: number,
  voxels: number,
  dt: DatatypeInfo,
  littleEndian: boolean,
  owned: boolean,
  file?: string,
): NiftiTypedArray {
  if (dt.name === 'int64' || dt.name === 'uint64')
    return decode64BitIntegers(bytes, offset, voxels, dt, littleEndian, file);
  const start = bytes.byteOffset + offset;
  const size = voxels * dt.bytes;
  let data: NiftiTypedArray;
  if (owned && start % dt.bytes === 0 && bytes.buffer.byteLength >= MIN_VIEW_BYTES) {
    // Zero-copy view on the (freshly decompressed or read) buffer: saves a 17 MB copy per BraTS volume.
    data = new dt.array(bytes.buffer, start, voxels);
  } else {
    data = new dt.array(bytes.buffer.slice(start, start + size));
  }
  if (littleEndian !== HOST_LITTLE_ENDIAN && dt.bytes > 1) {
    if (data.buffer === bytes.buffer) data = new dt.array(bytes.buffer.slice(start, start + size));
    swapBytes(new Uint8Array(data.buffer, data.byteOffset, size), dt.bytes);
  }
  return data;
}

/** Reverses the byte order of every `width`-byte element in place. */
export function swapBytes(b: Uint8Array, width: number): void {
  for (let i = 0; i + width <= b.length; i += width) {
    for (let lo = i, hi = i + width - 1; lo < hi; lo++, hi--) {
      const t = b[lo]!;
      b[lo] = b[hi]!;
      b[hi] = t;
    }
  }
}

function decode64BitIntegers(
  bytes: Uint8Array,
  offset: number,
  voxels: number,
  dt: DatatypeInfo,
  le: boolean,
  file?: string,
): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, voxels * 8);
  const out = new Float64Array(voxels);
  const limit = BigInt(Number.MAX_SAFE_INTEGER);
  for (let i = 0; i < voxels; i++) {
    const v = dt.name === 'int64' ? view.getBigInt64(i * 8, le) : view.getBigUint64(i * 8, le);
    if (v > limit || v < -limit) {
      throw new NiftiError(
        'NOT_EXACT',
        `${dt.name} voxel ${i} holds ${v}, which float64 cannot represent exactly`,
        file,
      );
    }
    out[i] = Number(v);
  }
  return out;
}
