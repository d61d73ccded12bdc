/**
 * A minimal ZIP reader for PyTorch checkpoints: central directory (with ZIP64), stored entries,
 * and deflated entries through a caller-supplied raw-inflate function (Node's zlib, fflate, ...),
 * so this module stays free of platform dependencies.
 */
import { MedNeXtError } from '../errors.js';

/** Raw DEFLATE decompressor. */
export type InflateRaw = (data: Uint8Array) => Uint8Array;

/** One file of the archive. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** A parsed archive. */
export interface ZipArchive {
  entries: Map<string, ZipEntry>;
  /** The (decompressed) bytes of an entry. */
  read(name: string): Uint8Array;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Opens a ZIP archive held in memory.
 * @param inflateRaw needed only for deflated entries (PyTorch stores its entries uncompressed)
 * @throws when the bytes are not a ZIP archive or the directory is damaged
 */
export function openZip(bytes: Uint8Array, source = 'zip archive', inflateRaw?: InflateRaw): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65_535); i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0)
    throw new MedNeXtError('WEIGHTS_INVALID', `${source}: not a ZIP archive (no end-of-central-directory record)`, {
      file: source,
    });
  let count = view.getUint16(eocd + 10, true);
  let dirOffset = view.getUint32(eocd + 16, true);
  if (eocd >= 20 && view.getUint32(eocd - 20, true) === ZIP64_LOCATOR) {
    const z64 = Number(view.getBigUint64(eocd - 20 + 8, true));
    if (view.getUint32(z64, true) !== ZIP64_EOCD)
      throw new MedNeXtError('WEIGHTS_INVALID', `${source}: damaged ZIP64 directory`, { file: source });
    count = Number(view.getBigUint64(z64 + 32, true));
    dirOffset = Number(view.getBigUint64(z64 + 48, true));
  }
  const entries = new Map<string, ZipEntry>();
  let p = dirOffset;
  const decoder = new TextDecoder();
  for (let n = 0; n < count; n++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== CENTRAL) {
      throw new MedNeXtError('WEIGHTS_INVALID', `${source}: damaged central directory (entry ${n})`, { file: source });
    }
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extra field: 64-bit values replace the 0xffffffff placeholders, in this order.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const next = (): number => {
          const v = Number(view.getBigUint64(q, true));
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      e += 4 + len;
    }
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    p = end + commentLen;
  }
  const read = (name: string): Uint8Array => {
    const entry = entries.get(name);
    if (!entry) throw new MedNeXtError('WEIGHTS_INVALID', `${source}: no entry '${name}'`, { file: source });
    const h = entry.localHeaderOffset;
    if (view.getUint32(h, true) !== LOCAL)
      throw new MedNeXtError('WEIGHTS_INVALID', `${source}: damaged local header of '${name}'`, { file: source });
    const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
    const raw = bytes.subarray(start, start + entry.compressedSize);
    if (raw.length !== entry.compressedSize)
      throw new MedNeXtError('WEIGHTS_INVALID', `${source}: '${name}' is truncated`, { file: source });
    if (entry.method === 0) return raw;
    if (entry.method === 8) {
      if (!inflateRaw) throw new Error(`${source}: '${name}' is deflated and no inflater was given`);
      const out = inflateRaw(raw);
      if (out.length !== entry.size)
        throw new MedNeXtError('WEIGHTS_INVALID', `${source}: '${name}' inflated to the wrong size`, { file: source });
      return out;
    }
    throw new MedNeXtError(
      'WEIGHTS_UNSUPPORTED',
      `${source}: '${name}' uses unsupported compression method ${entry.method}`,
      { file: source },
    );
  };
  return { entries, read };
}
