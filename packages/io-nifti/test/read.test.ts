import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  analyzeAffine,
  computeStats,
  decodeNifti,
  float64LittleEndianBytes,
  method1Affine,
  qformAffineIgnoringCode,
} from '../src/index.js';
import { readNifti } from '../src/node/index.js';
import { EXPECTED, FIXTURES, LOCAL_VALID, jsonNumber, maxAbsDiff, sha256 } from './helpers.js';

// Tolerances from fixtures/nifti/README.md: qform affines come from float32 quaternions (abs 1e-5);
// sform rows are stored exactly, so they must match exactly.
const QFORM_TOL = 1e-5;

describe.each(LOCAL_VALID)('$file', (e) => {
  it('header fields match nibabel', async () => {
    const img = await readNifti(FIXTURES + e.file);
    const h = img.header;
    expect(h.format).toBe(e.format);
    expect(h.littleEndian).toBe(e.endianness === 'little');
    expect(h.magic).toBe(e.magic);
    expect(h.voxOffset).toBe(e.vox_offset);
    expect(h.dim).toEqual(e.dim);
    expect(img.shape).toEqual(e.shape);
    expect(h.datatype).toBe(e.datatype);
    expect(h.bitpix).toBe(e.bitpix);
    expect(h.pixdim).toEqual(e.pixdim);
    expect(h.xyztUnits).toBe(e.xyzt_units);
    expect(h.sclSlope).toBe(e.scl_slope);
    expect(h.sclInter).toBe(e.scl_inter);
    expect(img.scaling !== null).toBe(e.scaling_applied);
    expect([h.qformCode, h.sformCode]).toEqual([e.qform_code, e.sform_code]);
    expect([h.quaternB, h.quaternC, h.quaternD]).toEqual(e.quatern_bcd);
    expect([h.qoffsetX, h.qoffsetY, h.qoffsetZ]).toEqual(e.qoffset_xyz);
    expect([h.srowX, h.srowY, h.srowZ]).toEqual([e.srow_x, e.srow_y, e.srow_z]);
    expect(h.descrip).toBe(e.descrip);
    expect(h.extensions.length).toBe(e.n_extensions);
  });

  it('scaled values hash, min, max and exact sum match', async () => {
    const img = await readNifti(FIXTURES + e.file);
    const values = img.scaledValues();
    expect(values.length).toBe(e.values.count);
    expect(sha256(float64LittleEndianBytes(values))).toBe(e.values.sha256_float64_le);
    const stats = computeStats(values);
    expect(stats.min).toBe(e.values.min);
    expect(stats.max).toBe(e.values.max);
    expect(stats.sum).toBe(e.values.sum_fsum);
  });

  it('spot voxels match (raw and scaled)', async () => {
    const img = await readNifti(FIXTURES + e.file);
    for (const spot of e.spot_voxels) {
      const [i, j, k, t] = spot.index as [number, number, number, number?];
      expect(Object.is(img.rawAt(i, j, k, t ?? 0), jsonNumber(spot.raw)), `${spot.name} raw`).toBe(true);
      expect(Object.is(img.valueAt(i, j, k, t ?? 0), jsonNumber(spot.value)), `${spot.name} value`).toBe(true);
    }
  });

  it('affines follow the NIfTI rules', async () => {
    const img = await readNifti(FIXTURES + e.file);
    expect(maxAbsDiff(qformAffineIgnoringCode(img.header), e.affine_qform_ignoring_code)).toBeLessThan(QFORM_TOL);
    if (e.affine_qform) expect(maxAbsDiff(img.qform!, e.affine_qform)).toBeLessThan(QFORM_TOL);
    else expect(img.qform).toBeNull();
    if (e.affine_sform) expect(img.sform).toEqual(e.affine_sform);
    else expect(img.sform).toBeNull();
    expect(method1Affine(img.header)).toEqual(e.affine_nifti_method1);
    if (e.sform_code > 0) expect(img.affine).toEqual(e.affine_best_nibabel);
    else if (e.qform_code > 0) expect(maxAbsDiff(img.affine, e.affine_best_nibabel)).toBeLessThan(QFORM_TOL);
  });
});

describe('affine fallback without orientation codes', () => {
  const e = EXPECTED.valid.find((x) => x.file === 'no_orientation.nii')!;
  it('defaults to NIfTI method 1 and can give nibabel-style Analyze affine', async () => {
    const img = await readNifti(FIXTURES + e.file);
    expect(img.affine).toEqual(e.affine_nifti_method1);
    const analyze = await readNifti(FIXTURES + e.file, { affineFallback: 'analyze' });
    expect(maxAbsDiff(analyze.affine, e.affine_best_nibabel)).toBeLessThan(1e-12);
    expect(maxAbsDiff(analyzeAffine(img.header), e.affine_best_nibabel)).toBeLessThan(1e-12);
  });
});

describe('orientation codes', () => {
  it.each([
    ['uint8.nii', 'RAS'],
    ['qform_only.nii', 'RAI'], // qfac = -1 flips the third axis
    ['qform_sform_both.nii', 'LAS'], // sform (code 4) wins over the qform
    ['nifti2_bigendian_uint16.nii', 'LAS'],
  ])('%s is %s', async (file, codes) => {
    expect((await readNifti(FIXTURES + file)).orientation).toBe(codes);
  });
});

describe('browser path (web DecompressionStream, no node:zlib)', () => {
  it('decodes a gzipped fixture with the default decompressor', async () => {
    const e = EXPECTED.valid.find((x) => x.file === 'bigendian_float32.nii.gz')!;
    const img = await decodeNifti(readFileSync(FIXTURES + e.file), { file: e.file });
    expect(sha256(float64LittleEndianBytes(img.scaledValues()))).toBe(e.values.sha256_float64_le);
  });

  it('uses an injected decompressor', async () => {
    const calls: number[] = [];
    const gz = readFileSync(FIXTURES + 'int16.nii.gz');
    const raw = readFileSync(FIXTURES + 'int16.nii');
    const img = await decodeNifti(gz, {
      decompress: (b) => {
        calls.push(b.length);
        return raw;
      },
    });
    expect(calls).toEqual([gz.length]);
    expect(img.rawAt(10, 12, 6)).toBe(32767);
  });
});

// The shared fixtures folder sits next to the repository checkout (../shared from the repo root).
const SHARED_BRATS = fileURLToPath(
  new URL('../../../../shared/fixtures/nifti/brats_size_int16.nii.gz', import.meta.url),
);
describe.skipIf(!existsSync(SHARED_BRATS))('BraTS-size fixture (from shared/, not copied)', () => {
  it('matches hash and sum', async () => {
    const e = EXPECTED.valid.find((x) => x.file === 'brats_size_int16.nii.gz')!;
    const img = await readNifti(SHARED_BRATS);
    expect(img.shape).toEqual([240, 240, 155]);
    expect(img.orientation).toBe('LPS');
    const values = img.scaledValues();
    expect(sha256(float64LittleEndianBytes(values))).toBe(e.values.sha256_float64_le);
    expect(computeStats(values).sum).toBe(e.values.sum_fsum);
  });
});
