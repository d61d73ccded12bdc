/**
 * Rewrites a small ZIP archive (such as a `torch.save` checkpoint, whose entries are stored) with every
 * entry DEFLATE-compressed, as a user's re-zipped checkpoint would be: the web app must read those through
 * its raw-inflate decoder and get the same tensors.
 */
import { crc32, deflateRawSync } from 'node:zlib';

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * The same archive with every entry deflated (method 8).
 * @throws for archives this small writer does not handle (ZIP64, damaged directory)
 */
export function deflateZipEntries(source: Uint8Array): Buffer {
  const src = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  const eocd = src.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || src.readUInt32LE(eocd) !== EOCD) throw new Error('deflateZipEntries: no end-of-central-directory');
  const count = src.readUInt16LE(eocd + 10);
  let p = src.readUInt32LE(eocd + 16);
  if (count === 0xffff || p === 0xffffffff) throw new Error('deflateZipEntries: ZIP64 archives are not handled');
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (let n = 0; n < count; n++) {
    if (src.readUInt32LE(p) !== CENTRAL) throw new Error(`deflateZipEntries: damaged directory entry ${n}`);
    const method = src.readUInt16LE(p + 10);
    const compressedSize = src.readUInt32LE(p + 20);
    const nameLength = src.readUInt16LE(p + 28);
    const skip = nameLength + src.readUInt16LE(p + 30) + src.readUInt16LE(p + 32);
    const name = src.subarray(p + 46, p + 46 + nameLength);
    const local = src.readUInt32LE(p + 42);
    if (method !== 0) throw new Error(`deflateZipEntries: entry ${name.toString()} is not stored`);
    const start = local + 30 + src.readUInt16LE(local + 26) + src.readUInt16LE(local + 28);
    const data = src.subarray(start, start + compressedSize);
    const packed = deflateRawSync(data);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(LOCAL, 0);
    header.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    header.writeUInt16LE(8, 8); // method: deflate
    header.writeUInt32LE(crc32(data), 14);
    header.writeUInt32LE(packed.length, 18);
    header.writeUInt32LE(data.length, 22);
    header.writeUInt16LE(nameLength, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(CENTRAL, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(8, 10);
    entry.writeUInt32LE(crc32(data), 16);
    entry.writeUInt32LE(packed.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(nameLength, 28);
    entry.writeUInt32LE(offset, 42);
    locals.push(header, name, packed);
    centrals.push(entry, name);
    offset += header.length + name.length + packed.length;
    p += 46 + skip;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(EOCD, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
