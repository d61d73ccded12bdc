/**
 * A seeded fuzz corpus: mutants of the valid fixtures (header fields set to hostile values, random byte flips,
 * truncations, appended bytes, gzip with and without damage). Every mutant must either be rejected with a
 * typed {@link NiftiError} that names its file, or be accepted and then survive what a caller does next:
 * affine, orientation, reorientation, conversion to a volume, and encoding (which must decode again).
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { NiftiError, decodeNifti, decodeNiftiPair, encodeNiftiRaw, reorient, type NiftiImage } from '../src/index.js';
import { nodeGunzipBounded } from '../src/node/index.js';
import { EXPECTED, FIXTURES } from './helpers.js';

/** mulberry32: small, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE_FLOATS = [Number.NaN, Infinity, -Infinity, 0, -0, -1, 1e-40, 3.4e38, -3.4e38, 1e6, 0.5];
const HOSTILE_INTS = [0, -1, 1, 2, 3, 4, 7, 8, 255, 256, 32767, -32768, 65535, 2 ** 31 - 1, -(2 ** 31)];

/** NIfTI-1 header fields (offset, kind) worth aiming at. */
const NIFTI1_FIELDS: Array<[number, 'i16' | 'i32' | 'f32' | 'u8']> = [
  [0, 'i32'], // sizeof_hdr
  [39, 'u8'], // dim_info
  ...[40, 42, 44, 46, 48, 50, 52, 54].map((o) => [o, 'i16'] as [number, 'i16']), // dim[0..7]
  [70, 'i16'], // datatype
  [72, 'i16'], // bitpix
  ...[76, 80, 84, 88].map((o) => [o, 'f32'] as [number, 'f32']), // pixdim[0..3]
  [108, 'f32'], // vox_offset
  [112, 'f32'], // scl_slope
  [116, 'f32'], // scl_inter
  [252, 'i16'], // qform_code
  [254, 'i16'], // sform_code
  ...[256, 260, 264, 268, 272, 276].map((o) => [o, 'f32'] as [number, 'f32']), // quatern, qoffset
  ...Array.from({ length: 12 }, (_, i) => [280 + 4 * i, 'f32'] as [number, 'f32']), // srow_x/y/z
  [344, 'u8'], // magic
  [345, 'u8'],
  [348, 'u8'], // extension flag
];

/** NIfTI-2 fields: dims and vox_offset are 64-bit, pixdim/srow float64. */
const NIFTI2_FIELDS: Array<[number, 'i16' | 'i64' | 'f64' | 'u8' | 'i32']> = [
  [0, 'i32'],
  [12, 'i16'], // datatype
  [14, 'i16'], // bitpix
  ...[16, 24, 32, 40, 48].map((o) => [o, 'i64'] as [number, 'i64']), // dim[0..4]
  ...[104, 112, 120, 128].map((o) => [o, 'f64'] as [number, 'f64']), // pixdim[0..3]
  [168, 'i64'], // vox_offset
  [176, 'f64'], // scl_slope
  [344, 'i32'], // qform_code
  [348, 'i32'], // sform_code
  ...Array.from({ length: 18 }, (_, i) => [352 + 8 * i, 'f64'] as [number, 'f64']), // quatern..srow
  [4, 'u8'], // magic
  [9, 'u8'],
];

function mutate(source: Uint8Array, nifti2: boolean, random: () => number): Uint8Array {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  let bytes = new Uint8Array(source);
  const view = () => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const edits = 1 + Math.floor(random() * 3);
  for (let e = 0; e < edits; e++) {
    const kind = random();
    if (kind < 0.55) {
      const [offset, type] = pick(nifti2 ? NIFTI2_FIELDS : NIFTI1_FIELDS);
      const le = random() < 0.9;
      const v = view();
      if (offset + 8 > bytes.length) continue;
      if (type === 'u8') v.setUint8(offset, Math.floor(random() * 256));
      else if (type === 'i16') v.setInt16(offset, pick(HOSTILE_INTS), le);
      else if (type === 'i32') v.setInt32(offset, pick(HOSTILE_INTS), le);
      else if (type === 'i64')
        v.setBigInt64(offset, BigInt(pick(HOSTILE_INTS)) * (random() < 0.1 ? 2n ** 32n : 1n), le);
      else if (type === 'f32') v.setFloat32(offset, pick(HOSTILE_FLOATS), le);
      else v.setFloat64(offset, pick(HOSTILE_FLOATS), le);
    } else if (kind < 0.8) {
      const at = Math.floor(random() * Math.min(bytes.length, 560));
      bytes[at] = Math.floor(random() * 256);
    } else if (kind < 0.9) {
      bytes = bytes.slice(0, Math.floor(random() * bytes.length));
    } else {
      const extra = new Uint8Array(1 + Math.floor(random() * 64)).map(() => Math.floor(random() * 256));
      const longer = new Uint8Array(bytes.length + extra.length);
      longer.set(bytes);
      longer.set(extra, bytes.length);
      bytes = longer;
    }
  }
  return bytes;
}

/** What a caller does with an accepted image; any exception here is a defect. */
async function followUp(image: NiftiImage, file: string): Promise<void> {
  const affine = image.affine;
  expect(affine.flat().every(Number.isFinite), `${file}: finite affine`).toBe(true);
  expect(image.orientation, file).toMatch(
    /^[LR][PA][IS]$|^[LR][IS][PA]$|^[PA][LR][IS]$|^[PA][IS][LR]$|^[IS][LR][PA]$|^[IS][PA][LR]$/,
  );
  let ras: NiftiImage = image;
  if (image.header.qformCode > 0 || image.header.sformCode > 0) ras = reorient(image, 'RAS');
  else expect(() => reorient(image, image.orientation === 'RAS' ? 'LPS' : 'RAS')).toThrow(/has no orientation/);
  const volume = ras.channels === 1 ? ras.toVolume() : ras.toChannelVolume();
  expect(volume.data.length, file).toBe(image.data.length);
  let again: NiftiImage;
  try {
    again = await decodeNifti(encodeNiftiRaw(ras), { file: `${file} (re-encoded)` });
  } catch (error) {
    throw new Error(`${file}: accepted, but its encoding does not decode: ${String(error)}`, { cause: error });
  }
  expect(again.shape, file).toEqual(ras.shape);
}

describe('fuzz corpus', () => {
  it('2,400 seeded mutants: typed errors naming the file, or images that survive the follow-up operations', async () => {
    const random = rng(20_261_206);
    const sources = EXPECTED.valid
      .filter((v) => !v.file.endsWith('.hdr') && !v.file.endsWith('.img') && existsSync(FIXTURES + v.file))
      .map((v) => {
        const bytes = new Uint8Array(readFileSync(FIXTURES + v.file));
        const raw = v.file.endsWith('.gz') ? new Uint8Array(gunzipSync(bytes)) : bytes;
        return { name: v.file.replace(/\.gz$/, ''), raw, nifti2: v.format === 'nifti2' };
      });
    expect(sources.length).toBeGreaterThanOrEqual(20);
    const tally = { rejected: 0, accepted: 0, codes: new Map<string, number>() };
    const MUTANTS = 2400;
    for (let i = 0; i < MUTANTS; i++) {
      const source = sources[i % sources.length]!;
      let bytes = mutate(source.raw, source.nifti2, random);
      let file = `mutant-${i}-${source.name}`;
      const gz = random() < 0.25;
      if (gz) {
        bytes = new Uint8Array(gzipSync(bytes, { level: 1 }));
        const damage = random();
        if (damage < 0.3) bytes = bytes.slice(0, Math.floor(random() * bytes.length));
        else if (damage < 0.5) bytes[10 + Math.floor(random() * (bytes.length - 10))] ^= 0xff;
        file += '.gz';
      }
      let image: NiftiImage;
      try {
        image = await decodeNifti(bytes, { file, boundedDecompress: nodeGunzipBounded });
      } catch (error) {
        expect(error, `${file}: ${String(error)}`).toBeInstanceOf(NiftiError);
        const e = error as NiftiError;
        expect(e.file, file).toBe(file);
        expect(e.message.startsWith(`${file}: `), e.message).toBe(true);
        tally.rejected++;
        tally.codes.set(e.code, (tally.codes.get(e.code) ?? 0) + 1);
        continue;
      }
      tally.accepted++;
      await followUp(image, file);
    }
    expect(tally.rejected + tally.accepted).toBe(MUTANTS);
    // The corpus must exercise both sides and many distinct rejections, or it tests nothing.
    expect(tally.accepted).toBeGreaterThan(MUTANTS / 10);
    expect(tally.rejected).toBeGreaterThan(MUTANTS / 4);
    for (const code of [
      'BAD_MAGIC',
      'BAD_DIM',
      'BAD_DATATYPE',
      'TRUNCATED_DATA',
      'BAD_GZIP',
      'BAD_AFFINE',
      'BAD_SIZEOF_HDR',
    ])
      expect(tally.codes.get(code) ?? 0, code).toBeGreaterThan(0);
  }, 60_000);

  it('.hdr/.img pair mutants name the header or the image file', async () => {
    const random = rng(7);
    const hdr = new Uint8Array(readFileSync(FIXTURES + 'pair_float32.hdr'));
    const img = new Uint8Array(readFileSync(FIXTURES + 'pair_float32.img'));
    for (let i = 0; i < 200; i++) {
      const h = mutate(hdr, false, random);
      const m = random() < 0.3 ? img.slice(0, Math.floor(random() * img.length)) : img;
      let image: NiftiImage;
      try {
        image = await decodeNiftiPair(h, m, { file: `p${i}.hdr`, imgFile: `p${i}.img` });
      } catch (error) {
        expect(error, String(error)).toBeInstanceOf(NiftiError);
        expect([`p${i}.hdr`, `p${i}.img`]).toContain((error as NiftiError).file);
        continue;
      }
      await followUp(image, `p${i}.hdr`);
    }
  });
});
