/**
 * @mednext-ts/io-nifti in a real browser: decode a .nii.gz through the web DecompressionStream path and
 * match the fixture's expected.json (made with nibabel), then encode → decode round trip in the page.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestPage, skipReason, type TestPage } from './harness/page.js';

interface SpotVoxel {
  index: number[];
  value: number;
}
interface ExpectedEntry {
  file: string;
  shape: number[];
  datatype_name: string;
  affine_sform: number[][];
  spot_voxels: SpotVoxel[];
  values: {
    count: number;
    min: number;
    max: number;
    sum_fsum: number;
    sha256_float64_le: string;
    raw_on_disk_sha256: string;
  };
}

const FIXTURE = 'int16.nii.gz';
const expected = (
  JSON.parse(readFileSync(new URL('./fixtures/expected.json', import.meta.url), 'utf8')) as { valid: ExpectedEntry[] }
).valid.find((e) => e.file === FIXTURE)!;
/** Affines: qform-derived ones come from float32 fields (expected.json conventions: abs tol ~1e-5). */
const AFFINE_TOL = 1e-5;

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

  it(`decodes ${FIXTURE} with DecompressionStream and matches expected.json`, async () => {
    const spots = expected.spot_voxels;
    expect(spots.length).toBeGreaterThan(0);
    const r = await page.call(
      'nifti',
      `/fixtures/${FIXTURE}`,
      spots.map((s) => s.index),
    );
    expect(r.shape).toEqual(expected.shape);
    expect(r.datatype).toBe(expected.datatype_name);
    expect(r.count).toBe(expected.values.count);
    expect(r.min).toBe(expected.values.min);
    expect(r.max).toBe(expected.values.max);
    expect(r.sum).toBe(expected.values.sum_fsum);
    expect(r.sha256).toBe(expected.values.sha256_float64_le);
    expect(r.rawSha256).toBe(expected.values.raw_on_disk_sha256);
    expect(r.spots).toEqual(spots.map((s) => s.value));
    r.affine.flat().forEach((v, i) => expect(Math.abs(v - expected.affine_sform.flat()[i]!)).toBeLessThan(AFFINE_TOL));
    expect(page.errors).toEqual([]);
  });

  it('round-trips encode (CompressionStream gzip) → decode exactly', async () => {
    const r = await page.call('nifti', `/fixtures/${FIXTURE}`, []);
    expect(r.roundTrip.gzip).toBe(true);
    expect(r.roundTrip.shape).toEqual(expected.shape);
    expect(r.roundTrip.datatype).toBe(expected.datatype_name);
    expect(r.roundTrip.affine).toEqual(r.affine);
    expect(r.roundTrip.sha256).toBe(expected.values.sha256_float64_le);
    // The re-encoded voxel bytes are the fixture's on-disk bytes (little-endian int16, no rescaling).
    expect(r.roundTrip.rawSha256).toBe(expected.values.raw_on_disk_sha256);
    expect(page.errors).toEqual([]);
  });
});
