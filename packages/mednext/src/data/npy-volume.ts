/**
 * `.npy` encoding of the preprocessing cache: float32 images and uint8 label maps, C order.
 *
 * The header is padded so the data starts at a multiple of 64 bytes (as NumPy does), which lets a
 * reader view the data in place (`new Float32Array(buffer, offset)`) without copying or per-element
 * decoding; files open directly in NumPy (`np.load(path, mmap_mode='r')`).
 */
import { MedNeXtError } from '../errors.js';

/** Element types of the cache. */
export type CacheDtype = 'float32' | 'uint8';

const DESCR: Record<CacheDtype, string> = { float32: '<f4', uint8: '|u1' };

/** Encodes an array as a version 1.0 `.npy` file. */
export function encodeNpy(data: Float32Array | Uint8Array, shape: readonly number[]): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new RangeError(`encodeNpy: ${data.length} values for shape [${shape.join(', ')}]`);
  const dtype: CacheDtype = data instanceof Float32Array ? 'float32' : 'uint8';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** A decoded cache array. */
export interface DecodedNpy<T extends Float32Array | Uint8Array> {
  data: T;
  shape: number[];
}

/**
 * Decodes a `.npy` file written by {@link encodeNpy} (little-endian `<f4` or `|u1`, C order, any
 * version). The data is a view into `bytes` when aligned, otherwise a copy.
 * @param source file name for error messages
 */
export function decodeNpy(bytes: Uint8Array, source: string): DecodedNpy<Float32Array> | DecodedNpy<Uint8Array> {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b))
    throw new MedNeXtError('NPY_INVALID', `${source}: not a .npy file`, { file: source });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = new TextDecoder().decode(bytes.subarray(major === 1 ? 10 : 12, start));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header))
    throw new MedNeXtError('NPY_INVALID', `${source}: Fortran-ordered arrays are not supported`, { file: source });
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined)
    throw new MedNeXtError('NPY_INVALID', `${source}: unreadable .npy header ${header.trim()}`, { file: source });
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  if (descr === '<f4') {
    if (start + 4 * n > bytes.length)
      throw new MedNeXtError(
        'NPY_INVALID',
        `${source}: truncated (needs ${start + 4 * n} bytes, has ${bytes.length})`,
        { file: source },
      );
    const offset = bytes.byteOffset + start;
    const data =
      offset % 4 === 0
        ? new Float32Array(bytes.buffer, offset, n)
        : new Float32Array(bytes.slice(start, start + 4 * n).buffer);
    return { data, shape };
  }
  if (descr === '|u1' || descr === '<u1') {
    if (start + n > bytes.length)
      throw new MedNeXtError('NPY_INVALID', `${source}: truncated (needs ${start + n} bytes, has ${bytes.length})`, {
        file: source,
      });
    return { data: bytes.subarray(start, start + n), shape };
  }
  throw new MedNeXtError('NPY_INVALID', `${source}: dtype ${descr} is not a cache dtype (expected <f4 or |u1)`, {
    file: source,
  });
}
