/**
 * A small reader/writer for NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
 *
 * Only what the network boundary needs: little-endian numeric arrays in C order. Every numeric
 * dtype is read and converted to float32, because the network and its fixtures are float32.
 * Pure byte manipulation, so it runs in browsers too.
 */
import { MedNeXtError } from '../errors.js';

/** A dense float32 array with its shape, C order (last axis fastest). */
export interface NpyArray {
  shape: number[];
  data: Float32Array;
  /** The dtype string found in the file header, e.g. `<f4`. */
  dtype: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

type Reader = (view: DataView, offset: number) => number;

const READERS: Record<string, { size: number; read: Reader }> = {
  f4: { size: 4, read: (v, o) => v.getFloat32(o, true) },
  f8: { size: 8, read: (v, o) => v.getFloat64(o, true) },
  i1: { size: 1, read: (v, o) => v.getInt8(o) },
  u1: { size: 1, read: (v, o) => v.getUint8(o) },
  b1: { size: 1, read: (v, o) => v.getUint8(o) },
  i2: { size: 2, read: (v, o) => v.getInt16(o, true) },
  u2: { size: 2, read: (v, o) => v.getUint16(o, true) },
  i4: { size: 4, read: (v, o) => v.getInt32(o, true) },
  u4: { size: 4, read: (v, o) => v.getUint32(o, true) },
  i8: { size: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
  u8: { size: 8, read: (v, o) => Number(v.getBigUint64(o, true)) },
};

/** Extracts a value of the Python-dict-literal header, e.g. `'descr': '<f4'`. */
function headerField(header: string, key: string, pattern: string, source: string): string {
  const match = new RegExp(`['"]${key}['"]\\s*:\\s*${pattern}`).exec(header);
  if (!match)
    throw new MedNeXtError('NPY_INVALID', `${source}: .npy header has no readable '${key}' field: ${header.trim()}`, {
      file: source,
    });
  return match[1];
}

/**
 * Parses a `.npy` file into a float32 array.
 * @param bytes the whole file
 * @param source name used in error messages (e.g. the file path)
 * @throws if the file is not an `.npy` file, is big-endian, Fortran-ordered, or truncated
 */
export function parseNpy(bytes: Uint8Array, source = '.npy input'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new MedNeXtError('NPY_INVALID', `${source}: not a NumPy .npy file (bad magic)`, { file: source });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new MedNeXtError('NPY_INVALID', `${source}: unsupported .npy format version ${major}`, { file: source });
  }
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = headerField(header, 'descr', `['"]([^'"]+)['"]`, source);
  const fortran = headerField(header, 'fortran_order', '(True|False)', source);
  const shapeText = headerField(header, 'shape', '\\(([^)]*)\\)', source);
  if (fortran === 'True')
    throw new MedNeXtError(
      'NPY_INVALID',
      `${source}: Fortran-ordered .npy arrays are not supported; save with C order`,
      { file: source },
    );
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number.parseInt(s, 10));
  if (shape.some((n) => !Number.isFinite(n) || n < 0))
    throw new MedNeXtError('NPY_INVALID', `${source}: bad shape (${shapeText})`, { file: source });
  const order = descr[0];
  const kind = descr.slice(1);
  if (order === '>' && kind !== 'i1' && kind !== 'u1' && kind !== 'b1') {
    throw new MedNeXtError('NPY_INVALID', `${source}: big-endian dtype ${descr} is not supported`, { file: source });
  }
  const reader = READERS[kind];
  if (!reader)
    throw new MedNeXtError('NPY_INVALID', `${source}: unsupported dtype ${descr} (numeric little-endian dtypes only)`, {
      file: source,
    });
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;
  if (bytes.length < dataStart + count * reader.size) {
    throw new MedNeXtError(
      'NPY_INVALID',
      `${source}: truncated: expected ${count * reader.size} data bytes, found ${bytes.length - dataStart}`,
      { file: source },
    );
  }
  const data = new Float32Array(count);
  if (kind === 'f4' && (bytes.byteOffset + dataStart) % 4 === 0) {
    data.set(new Float32Array(bytes.buffer, bytes.byteOffset + dataStart, count));
  } else {
    for (let i = 0; i < count; i++) data[i] = reader.read(view, dataStart + i * reader.size);
  }
  return { shape, data, dtype: descr };
}

/**
 * Serialises a float32 array as a version 1.0 `.npy` file (`<f4`, C order).
 * @throws if the data length does not match the shape
 */
export function serializeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(`serializeNpy: shape [${shape.join(', ')}] needs ${count} values, got ${data.length}`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad with spaces so the data starts on a 64-byte boundary, newline-terminated (as NumPy does).
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + headerBytes.length + data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, headerBytes.length, true);
  out.set(headerBytes, 10);
  new Uint8Array(out.buffer, 10 + headerBytes.length).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  return out;
}
