import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  NiftiError,
  NiftiImage,
  decodeNifti,
  emptyHeader,
  encodeNifti,
  encodeNiftiRaw,
  supportedDatatypes,
  type NiftiTypedArray,
} from '../src/index.js';
import { readNifti, writeNifti } from '../src/node/index.js';
import { FIXTURES, LOCAL_VALID, sha256 } from './helpers.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'io-nifti-write-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Values spanning each type's range, including its extremes (and NaN/Inf/-0 for floats). */
function sampleValues(name: string, n: number): number[] {
  const dt = supportedDatatypes().find((d) => d.name === name)!;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (dt.integer) {
      const span = dt.max - dt.min;
      out.push(i === 0 ? dt.min : i === 1 ? dt.max : dt.min + Math.floor((((i * 2654435761) % 1e9) / 1e9) * span));
    } else {
      out.push(i === 0 ? NaN : i === 1 ? Infinity : i === 2 ? -0 : Math.fround(Math.sin(i) * 1e3 * (i % 7)));
    }
  }
  return out;
}

function makeImage(name: string): NiftiImage {
  const dt = supportedDatatypes().find((d) => d.name === name)!;
  const h = emptyHeader();
  h.dim = [3, 5, 4, 3, 1, 1, 1, 1];
  h.datatype = dt.code;
  h.bitpix = dt.bytes * 8;
  h.pixdim = [-1, 0.9, 1.1, 2.5, 1, 1, 1, 1];
  h.qformCode = 1;
  h.sformCode = 2;
  h.quaternB = 0.1;
  h.quaternC = 0.2;
  h.quaternD = 0.3;
  h.qoffsetX = -10;
  h.srowX = [0.9, 0.1, 0, -50];
  h.srowY = [0, 1.1, 0.2, -60];
  h.srowZ = [0, 0, 2.5, 10];
  h.descrip = `round trip ${name}`;
  h.intentCode = 1002;
  h.intentName = 'labels';
  const data = new dt.array(60) as NiftiTypedArray;
  sampleValues(name, 60).forEach((v, i) => (data[i] = v));
  return new NiftiImage(h, data);
}

describe('write -> read round trips are exact for every datatype', () => {
  it.each(supportedDatatypes().map((d) => d.name))('%s (.nii and .nii.gz)', async (name) => {
    const img = makeImage(name);
    for (const file of [`${name}.nii`, `${name}.nii.gz`]) {
      await writeNifti(path.join(tmp, file), img);
      const back = await readNifti(path.join(tmp, file));
      expect(back.data.constructor).toBe(img.data.constructor);
      expect(Array.from(back.data).map(String)).toEqual(Array.from(img.data).map(String));
      expect(Object.is(back.data[2], img.data[2])).toBe(true); // -0 stays -0 for floats
      const { extensions: _e1, voxOffset: _v1, ...h1 } = back.header;
      const { extensions: _e2, voxOffset: _v2, ...h2 } = img.header;
      // float32 header fields were rounded on write: compare against their float32 values.
      expect(h1.quaternB).toBe(Math.fround(0.1));
      expect({ ...h1, quaternB: 0, quaternC: 0, quaternD: 0, pixdim: 0, srowX: 0, srowY: 0 }).toEqual({
        ...h2,
        quaternB: 0,
        quaternC: 0,
        quaternD: 0,
        pixdim: 0,
        srowX: 0,
        srowY: 0,
      });
      expect(back.header.pixdim).toEqual(img.header.pixdim.map(Math.fround));
      expect(back.header.voxOffset).toBe(352);
    }
  });

  it('re-encoding a little-endian single-file fixture reproduces the (uncompressed) file byte for byte', async () => {
    const files = LOCAL_VALID.filter((x) => x.magic[1] === '+' && x.endianness === 'little');
    expect(files.length).toBe(24);
    for (const e of files) {
      const original = readFileSync(FIXTURES + e.file);
      const expected = e.file.endsWith('.gz') ? gunzipSync(original) : original;
      expect(sha256(encodeNiftiRaw(await readNifti(FIXTURES + e.file))), e.file).toBe(sha256(expected));
    }
  });
});

describe('writing fixtures reproduces their raw data bytes', () => {
  it.each(LOCAL_VALID.map((e) => [e.file, e] as const))('%s', async (_file, e) => {
    const img = await readNifti(FIXTURES + e.file);
    const out = path.join(tmp, e.file.replace(/\.(nii|hdr)(\.gz)?$/, '.out.nii.gz'));
    await writeNifti(out, img);
    const raw = gunzipSync(readFileSync(out));
    const back = await readNifti(out);
    // Big-endian inputs are written little-endian, so only native-order files keep their raw hash.
    if (e.endianness === 'little')
      expect(sha256(raw.subarray(back.header.voxOffset))).toBe(e.values.raw_on_disk_sha256);
    expect(sha256(new Uint8Array(back.scaledValues().buffer))).toBe(sha256(new Uint8Array(img.scaledValues().buffer)));
    expect(back.affine).toEqual(img.affine);
    expect(back.header.format).toBe(e.format);
  });
});

describe('header layout', () => {
  it('NIfTI-1: sizeof_hdr 348, vox_offset 352, magic n+1, zero extender and padding', () => {
    const bytes = encodeNiftiRaw(makeImage('int16'));
    const v = new DataView(bytes.buffer);
    expect(v.getInt32(0, true)).toBe(348);
    expect(v.getFloat32(108, true)).toBe(352);
    expect(Array.from(bytes.subarray(344, 352))).toEqual([0x6e, 0x2b, 0x31, 0, 0, 0, 0, 0]);
    expect(Array.from(bytes.subarray(0 + 4, 38)).every((b) => b === 0)).toBe(true); // data_type, db_name, extents...
    expect(bytes.length).toBe(352 + 60 * 2);
  });

  it('switches to NIfTI-2 when a dimension exceeds 32767', async () => {
    const data = new Uint8Array(40000).map((_, i) => i % 251);
    const img = NiftiImage.fromCOrder(data, [40000, 1, 1]);
    const bytes = await encodeNifti(img);
    const v = new DataView(bytes.buffer);
    expect(v.getInt32(0, true)).toBe(540);
    expect(String.fromCharCode(...bytes.subarray(4, 7))).toBe('n+2');
    expect(Number(v.getBigInt64(168, true))).toBe(544);
    const back = await decodeNifti(bytes);
    expect(back.shape).toEqual([40000, 1, 1]);
    expect(back.data).toEqual(data);
    expect(() => encodeNiftiRaw(img, 'nifti1')).toThrow(/32767/);
  });

  it('keeps extensions and shifts vox_offset', async () => {
    const img = await readNifti(FIXTURES + 'extension_int16.nii');
    const bytes = encodeNiftiRaw(img);
    expect(new DataView(bytes.buffer).getFloat32(108, true)).toBe(416);
    expect(sha256(bytes)).toBe(sha256(readFileSync(FIXTURES + 'extension_int16.nii')));
  });

  it('writes gzip through the web CompressionStream too', async () => {
    const img = makeImage('float32');
    const gz = await encodeNifti(img, { gzip: true });
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    expect((await decodeNifti(gz)).data).toEqual(img.data);
  });
});

describe('strict writing', () => {
  it('refuses values the datatype cannot hold exactly', () => {
    const img = makeImage('float32').withData(new Float32Array(60).fill(1.5), 4);
    expect(() => encodeNiftiRaw(img)).toThrow(NiftiError);
    expect(() => encodeNiftiRaw(makeImage('float32').withData(new Float32Array(60).fill(40000), 4))).toThrow(/int16/);
    expect(encodeNiftiRaw(makeImage('float32').withData(new Float32Array(60).fill(-7), 4)).length).toBe(352 + 120);
  });

  it('a failed write leaves no partial or temporary file', async () => {
    const bad = makeImage('float32').withData(new Float64Array(60).fill(0.5), 2);
    const target = path.join(tmp, 'fail', 'x.nii');
    await expect(writeNifti(path.join(tmp, 'nodir', 'x.nii'), makeImage('int16'))).rejects.toThrow(/write failed/);
    await expect(writeNifti(target, bad)).rejects.toThrow(/uint8/);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await expect(writeNifti(path.join(tmp, 'x.mha'), makeImage('int16'))).rejects.toThrow(/\.nii or \.nii\.gz/);
  });

  it('replaces an existing file atomically', async () => {
    const file = path.join(tmp, 'replace.nii');
    await writeNifti(file, makeImage('int16'));
    await writeNifti(file, makeImage('uint8'));
    expect((await readNifti(file)).datatype.name).toBe('uint8');
  });
});
