/**
 * Reader and writer for the `.safetensors` format: an 8-byte little-endian header length, a JSON
 * header `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`, then
 * the raw little-endian tensor bytes. Pure byte manipulation (browser-safe).
 *
 * Tensors of every floating and integer dtype are read and converted to float32 (the network's
 * precision); files are written as F32.
 */
import { describeForeignWeights } from './foreign-format.js';
import { shapeSize, type NamedTensor, type StateDict } from './tensor-map.js';
import { MedNeXtError } from '../errors.js';

/** A parsed safetensors file. */
export interface SafetensorsFile {
  tensors: StateDict;
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

const DTYPE_SIZES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

function decode(view: DataView, start: number, count: number, dtype: string): Float32Array {
  const out = new Float32Array(count);
  const size = DTYPE_SIZES[dtype];
  for (let i = 0; i < count; i++) {
    const o = start + i * size;
    switch (dtype) {
      case 'F32':
        out[i] = view.getFloat32(o, true);
        break;
      case 'F64':
        out[i] = view.getFloat64(o, true);
        break;
      case 'F16':
        out[i] = halfToFloat(view.getUint16(o, true));
        break;
      case 'BF16':
        out[i] = new Float32Array(new Uint32Array([view.getUint16(o, true) << 16]).buffer)[0];
        break;
      case 'I64':
        out[i] = Number(view.getBigInt64(o, true));
        break;
      case 'I32':
        out[i] = view.getInt32(o, true);
        break;
      case 'I16':
        out[i] = view.getInt16(o, true);
        break;
      case 'I8':
        out[i] = view.getInt8(o);
        break;
      default:
        out[i] = view.getUint8(o);
    }
  }
  return out;
}

/**
 * Parses a `.safetensors` file.
 * @param bytes the whole file
 * @param source name used in error messages
 * @throws on a malformed header, an unsupported dtype, or offsets outside the file
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors input'): SafetensorsFile {
  if (bytes.length < 8)
    throw new MedNeXtError('WEIGHTS_INVALID', `${source}: too short to be a safetensors file`, { file: source });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  // A safetensors header is JSON: anything else is named by its magic bytes when possible.
  if (headerLen > bytes.length - 8 || bytes[8] !== 0x7b) {
    const foreign = describeForeignWeights(bytes);
    if (foreign) throw new MedNeXtError('WEIGHTS_UNSUPPORTED', `${source}: ${foreign}`, { file: source });
  }
  if (headerLen > bytes.length - 8) {
    throw new MedNeXtError(
      'WEIGHTS_INVALID',
      `${source}: header length ${headerLen} exceeds the file size (${bytes.length} bytes)`,
      { file: source },
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<string, unknown>;
  } catch (e) {
    throw new MedNeXtError('WEIGHTS_INVALID', `${source}: header is not valid JSON (${(e as Error).message})`, {
      file: source,
    });
  }
  const dataStart = 8 + headerLen;
  const metadata: Record<string, string> = {};
  const entries: Array<[string, NamedTensor, number]> = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) metadata[k] = String(v);
      continue;
    }
    const info = value as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    const dtype = info.dtype ?? '?';
    const size = DTYPE_SIZES[dtype];
    if (!size)
      throw new MedNeXtError('WEIGHTS_UNSUPPORTED', `${source}: tensor '${name}' has unsupported dtype ${dtype}`, {
        file: source,
      });
    if (!Array.isArray(info.shape) || !Array.isArray(info.data_offsets)) {
      throw new MedNeXtError('WEIGHTS_INVALID', `${source}: tensor '${name}' lacks shape or data_offsets`, {
        file: source,
      });
    }
    const [begin, end] = info.data_offsets;
    const count = shapeSize(info.shape);
    if (end - begin !== count * size || dataStart + end > bytes.length || begin < 0) {
      throw new MedNeXtError(
        'WEIGHTS_INVALID',
        `${source}: tensor '${name}' (${dtype} [${info.shape.join(', ')}]) has bad data_offsets [${begin}, ${end}]`,
        { file: source },
      );
    }
    entries.push([name, { shape: [...info.shape], data: decode(view, dataStart + begin, count, dtype) }, begin]);
  }
  // JSON object order is not guaranteed to be the data order; the data order is the file order.
  entries.sort((a, b) => a[2] - b[2]);
  return { tensors: new Map(entries.map(([n, t]) => [n, t])), metadata };
}

/**
 * Serialises named float32 tensors as a `.safetensors` file (dtype F32), keeping the map's order.
 * @param metadata optional `__metadata__` string map
 */
export function serializeSafetensors(tensors: StateDict, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (t.data.length !== shapeSize(t.shape)) {
      throw new Error(`serializeSafetensors: '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.length * 4] };
    offset += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data is 8-byte aligned (as the reference writer does).
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}
