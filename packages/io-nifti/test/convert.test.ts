import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  NiftiError,
  NiftiImage,
  convertDatatype,
  decodeNiftiSync,
  emptyHeader,
  encodeHeader,
  float64LittleEndianBytes,
  resolveDatatype,
  summarizeNifti,
} from '../src/index.js';
import { readNifti } from '../src/node/index.js';
import { EXPECTED, FIXTURES } from './helpers.js';

describe('convertDatatype', () => {
  it('converts scaled values, resets scaling and counts rounding', async () => {
    const img = await readNifti(FIXTURES + 'int16_scaled.nii'); // raw * 0.5 - 10
    const { image, rounded } = convertDatatype(img, 'float32');
    expect(rounded).toBe(0);
    expect(image.datatype.name).toBe('float32');
    expect([image.header.sclSlope, image.header.sclInter]).toEqual([1, 0]);
    expect(image.rawAt(1, 2, 3)).toBe(img.valueAt(1, 2, 3));
    const asInt = convertDatatype(img, 'int32');
    // Odd raw values give x.5 after scaling: rounded away from zero.
    expect(asInt.rounded).toBeGreaterThan(0);
    expect(asInt.image.rawAt(0, 0, 0)).toBe(
      Math.sign(img.valueAt(0, 0, 0)) * Math.round(Math.abs(img.valueAt(0, 0, 0))),
    );
    expect(convertDatatype(img, 4).image).toBe(img);
  });

  it('refuses out-of-range and non-finite values for integer targets', async () => {
    await expect(readNifti(FIXTURES + 'int16.nii').then((i) => convertDatatype(i, 'uint8'))).rejects.toThrow(
      /outside the uint8 range/,
    );
    await expect(readNifti(FIXTURES + 'float32_special.nii').then((i) => convertDatatype(i, 'int32'))).rejects.toThrow(
      /NaN/,
    );
  });

  it('resolveDatatype accepts names and codes and rejects the rest', () => {
    expect(resolveDatatype('INT16').code).toBe(4);
    expect(resolveDatatype('512').name).toBe('uint16');
    expect(() => resolveDatatype('rgb24')).toThrow(NiftiError);
  });
});

describe('int64 / uint64', () => {
  function int64Image(values: bigint[]): Uint8Array {
    const h = emptyHeader();
    h.dim = [1, values.length, 1, 1, 1, 1, 1, 1];
    h.datatype = 1024;
    h.bitpix = 64;
    const head = encodeHeader(h, 'nifti1');
    const out = new Uint8Array(head.length + 8 * values.length);
    out.set(head);
    const view = new DataView(out.buffer, head.length);
    values.forEach((v, i) => view.setBigInt64(i * 8, v, true));
    return out;
  }

  it('reads values within +-2^53 exactly and rejects larger ones', () => {
    const ok = decodeNiftiSync(int64Image([-(2n ** 53n) + 1n, 0n, 2n ** 53n - 1n]));
    expect(Array.from(ok.data)).toEqual([-(2 ** 53) + 1, 0, 2 ** 53 - 1]);
    expect(() => decodeNiftiSync(int64Image([2n ** 53n + 1n]))).toThrow(/cannot represent exactly/);
  });
});

describe('summarizeNifti', () => {
  it('gives the fields of `nifti info --json`, hash and stats as in expected.json', async () => {
    const e = EXPECTED.valid.find((x) => x.file === 'nifti2_float64.nii.gz')!;
    const s = await summarizeNifti(await readNifti(FIXTURES + e.file));
    expect(s.dims).toEqual(e.shape);
    expect(s.datatype).toBe('float64');
    expect(s.format).toBe('nifti2');
    expect([s.sclSlope, s.sclInter, s.scaled]).toEqual([2, 0.25, true]);
    expect(s.sha256).toBe(e.values.sha256_float64_le);
    expect([s.min, s.max, s.sum]).toEqual([e.values.min, e.values.max, e.values.sum_fsum]);
    expect(s.affine).toEqual(e.affine_sform);
    expect(s.orientation).toBe('RAS');
  });
});

describe('tensor3d-compatible volumes', () => {
  it('toVolume gives a 3-tuple shape and refuses multi-channel images; toChannelVolume stacks channels', async () => {
    const v = (await readNifti(FIXTURES + 'int16.nii')).toVolume();
    expect(v.shape).toEqual([11, 13, 7]);
    expect(v.data[(1 * 13 + 2) * 7 + 3]).toBe(1 + 11 * (2 + 13 * 3) - 500);
    const four = await readNifti(FIXTURES + '4d_float32.nii.gz');
    expect(() => four.toVolume()).toThrow(/toChannelVolume/);
    const cv = four.toChannelVolume();
    expect(cv.shape).toEqual([4, 11, 13, 7]);
    const back = NiftiImage.fromCOrder(cv.data, cv.shape, { reference: four });
    const hash = (x: NiftiImage) =>
      createHash('sha256').update(float64LittleEndianBytes(x.scaledValues())).digest('hex');
    expect(hash(back)).toBe(hash(four));
  });
});
