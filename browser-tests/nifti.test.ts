/**
 * @mednext-ts/io-nifti in a real browser: decode .nii.gz files through the web DecompressionStream path and
 * match the fixtures' expected.json (made with nibabel), encode → decode round trips in the page, and the
 * typed rejection of corrupt gzip streams (which only a whole-stream gunzip notices).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestPage, skipReason, type TestPage } from './harness/page.js';

interface ExpectedEntry {
  file: string;
  shape: number[];
  endianness: 'little' | 'big';
  datatype_name: string;
  affine_sform: number[][];
  spot_voxels: Array<{ index: number[]; value: number }>;
  values: {
    count: number;
    min: number;
    max: number;
    sum_fsum: number;
    sha256_float64_le: string;
    raw_on_disk_sha256: string;
  };
}

const expected = JSON.parse(readFileSync(new URL('./fixtures/expected.json', import.meta.url), 'utf8')) as {
  valid: ExpectedEntry[];
  broken: Array<{ file: string; problem: string }>;
};
/** Affines: qform-derived ones come from float32 fields (expected.json conventions: abs tol ~1e-5). */
const AFFINE_TOL = 1e-5;

function expectAffine(actual: number[][], wanted: number[][]): void {
  const a = actual.flat();
  const w = wanted.flat();
  expect(a.length).toBe(16);
  a.forEach((v, i) => expect(Math.abs(v - w[i]!), `affine entry ${i}`).toBeLessThan(AFFINE_TOL));
}

const skip = skipReason();

describe.skipIf(skip !== null)(`io-nifti in headless Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let page: TestPage;
  beforeAll(async () => {
    page = await openTestPage();
  });
  afterAll(async () => {
    await page?.close();
  });

  it('runs in a cross-origin-isolated browser page without Node shims', async () => {
    const env = await page.call('environment');
    expect(env.userAgent).toMatch(/HeadlessChrome\//);
    expect(env.crossOriginIsolated).toBe(true);
    expect(env.sharedArrayBuffer).toBe(true);
    expect(env.decompressionStream).toBe(true);
    expect(env.processType).toBe('undefined');
  });

  it.each(expected.valid.map((e) => [e.file, e] as const))(
    'decodes %s with DecompressionStream and matches expected.json',
    async (file, e) => {
      expect(e.spot_voxels.length).toBeGreaterThan(0);
      const r = await page.call(
        'nifti',
        `/fixtures/${file}`,
        e.spot_voxels.map((s) => s.index),
      );
      expect(r.shape).toEqual(e.shape);
      expect(r.datatype).toBe(e.datatype_name);
      expect(r.count).toBe(e.values.count);
      expect(r.min).toBe(e.values.min);
      expect(r.max).toBe(e.values.max);
      expect(r.sum).toBe(e.values.sum_fsum);
      expect(r.sha256).toBe(e.values.sha256_float64_le);
      expect(r.rawSha256).toBe(e.values.raw_on_disk_sha256);
      expect(r.spots).toEqual(e.spot_voxels.map((s) => s.value));
      expectAffine(r.affine, e.affine_sform);
      expect(page.errors).toEqual([]);
    },
  );

  it.each(expected.valid.map((e) => [e.file, e] as const))(
    'round-trips %s through encode (CompressionStream gzip) → decode exactly',
    async (file, e) => {
      const r = await page.call('nifti', `/fixtures/${file}`, []);
      expect(r.roundTrip.gzip).toBe(true);
      expect(r.roundTrip.shape).toEqual(e.shape);
      expect(r.roundTrip.datatype).toBe(e.datatype_name);
      expect(r.roundTrip.affine).toEqual(r.affine);
      expect(r.roundTrip.sha256).toBe(e.values.sha256_float64_le);
      // Writers produce little-endian: for a little-endian source the voxel bytes are the on-disk ones.
      if (e.endianness === 'little') expect(r.roundTrip.rawSha256).toBe(e.values.raw_on_disk_sha256);
      else expect(r.roundTrip.rawSha256).not.toBe(e.values.raw_on_disk_sha256);
      expect(page.errors).toEqual([]);
    },
  );

  it.each(expected.broken.map((e) => [e.file] as const))(
    'rejects %s (corrupt gzip stream) with NiftiError BAD_GZIP naming the file',
    async (file) => {
      const url = `/fixtures/${file}`;
      const r = await page.call('niftiRejection', url);
      expect(r.isNiftiError).toBe(true);
      expect(r.name).toBe('NiftiError');
      expect(r.code).toBe('BAD_GZIP');
      expect(r.message).toContain(url);
    },
  );
});
