import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readNifti } from '@mednext-ts/io-nifti/node';
import { mednextExit, tempDir } from './cli-helpers.js';

const FIXTURES = fileURLToPath(new URL('../../io-nifti/test/fixtures/', import.meta.url));
const EXPECTED = JSON.parse(readFileSync(FIXTURES + 'expected.json', 'utf8')) as {
  valid: {
    file: string;
    shape: number[];
    datatype_name: string;
    pixdim: number[];
    scl_slope: number;
    scl_inter: number;
    qform_code: number;
    sform_code: number;
    affine_sform: number[][] | null;
    affine_qform: number[][] | null;
    affine_nifti_method1: number[][];
    values: { sha256_float64_le: string; min: number; max: number; sum_fsum: number };
  }[];
};
const LOCAL = EXPECTED.valid.filter((e) => e.file !== 'brats_size_int16.nii.gz');

const tmp = tempDir('cli-nifti-');

describe('mednext nifti info', () => {
  it('--json matches expected.json for every fixture (one process, array output)', async () => {
    const { code, stdout } = await mednextExit('nifti', 'info', '--json', ...LOCAL.map((e) => FIXTURES + e.file));
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as Record<string, unknown>[];
    expect(out.length).toBe(LOCAL.length);
    LOCAL.forEach((e, i) => {
      const s = out[i]!;
      expect(s.file).toBe(FIXTURES + e.file);
      expect(s.dims).toEqual(e.shape);
      expect(s.datatype).toBe(e.datatype_name);
      expect(s.pixdim).toEqual(e.pixdim.slice(1, e.shape.length + 1));
      expect([s.sclSlope, s.sclInter, s.qformCode, s.sformCode]).toEqual([
        e.scl_slope,
        e.scl_inter,
        e.qform_code,
        e.sform_code,
      ]);
      expect(s.sha256, e.file).toBe(e.values.sha256_float64_le);
      expect([s.min, s.max, s.sum]).toEqual([e.values.min, e.values.max, e.values.sum_fsum]);
      const affine = s.affine as number[][];
      const ref = e.affine_sform ?? e.affine_qform ?? e.affine_nifti_method1;
      // sform rows are exact; qform affines come from float32 quaternions (abs tol 1e-5).
      affine.forEach((row, r) =>
        row.forEach((x, c) => expect(Math.abs(x - ref[r]![c]!)).toBeLessThan(e.affine_sform ? 1e-300 : 1e-5)),
      );
    });
  });

  it('prints a readable summary and fails with the typed error for a broken file', async () => {
    const { code, stdout, stderr } = await mednextExit(
      'nifti',
      'info',
      FIXTURES + 'int16_scaled.nii',
      FIXTURES + 'broken/zero_dim.nii',
    );
    expect(code).toBe(1);
    expect(stdout).toContain('dims         11 x 13 x 7');
    expect(stdout).toContain('scaling      slope 0.5, inter -10');
    expect(stdout).toContain('orientation  RAS');
    expect(stderr).toContain('zero_dim.nii: dim[2] is 0');
    expect(stderr).toContain('[BAD_DIM]');
  });

  it('reports an affine with NaN instead of an orientation', async () => {
    const bytes = readFileSync(FIXTURES + 'sform_only.nii');
    bytes.writeFloatLE(Number.NaN, 280); // srow_x[0]
    const file = path.join(tmp, 'nan-affine.nii');
    writeFileSync(file, bytes);
    const { code, stdout, stderr } = await mednextExit('nifti', 'info', file);
    expect(code).toBe(1);
    expect(stdout).not.toMatch(/orientation/);
    expect(stderr).toMatch(/sform \(sform_code \d\) srow_x\/y\/z holds non-finite values \[NaN, .*\[BAD_AFFINE\]/);
  });

  it('a single file gives one JSON object; NaN/Inf become strings', async () => {
    const { stdout } = await mednextExit('nifti', 'info', '--json', FIXTURES + 'float32_special.nii');
    const s = JSON.parse(stdout) as { nan: number; infinite: number; sha256: string };
    expect([s.nan, s.infinite]).toEqual([1, 2]);
    expect(s.sha256).toBe('933f05faaf3cef9c721261a87872f49edf752d1fe2a409b8239a27f7df6998a2');
  });
});

describe('mednext nifti convert', () => {
  it('converts a .hdr/.img pair and a big-endian NIfTI-2 file to little-endian .nii.gz with identical values', async () => {
    for (const [input, sha] of [
      ['pair_float32.hdr', '29fd41286447bfdd7c0559b8a818fd2e5c08bd4651add8da7fb434fd6b9a649b'],
      [
        'nifti2_bigendian_uint16.nii',
        EXPECTED.valid.find((e) => e.file === 'nifti2_bigendian_uint16.nii')!.values.sha256_float64_le,
      ],
    ] as const) {
      const out = path.join(tmp, `${input}.nii.gz`);
      const res = await mednextExit('nifti', 'convert', FIXTURES + input, out);
      expect(res.code, res.stderr).toBe(0);
      const info = JSON.parse((await mednextExit('nifti', 'info', '--json', out)).stdout) as {
        sha256: string;
        endianness: string;
      };
      expect(info.sha256).toBe(sha);
      expect(info.endianness).toBe('little');
    }
  });

  it('--reorient RAS permutes/flips without changing the value multiset', async () => {
    const out = path.join(tmp, 'ras.nii');
    const res = await mednextExit('nifti', 'convert', FIXTURES + 'qform_sform_both.nii', out, '--reorient', 'RAS');
    expect(res.stdout).toContain('orientation LAS -> RAS');
    const [before, after] = await Promise.all([readNifti(FIXTURES + 'qform_sform_both.nii'), readNifti(out)]);
    expect(after.orientation).toBe('RAS');
    expect(Array.from(after.data).sort()).toEqual(Array.from(before.data).sort());
    // x was flipped: voxel (i, j, k) now holds old (nx-1-i, j, k).
    expect(after.rawAt(0, 2, 3)).toBe(before.rawAt(10, 2, 3));
  });

  it('--datatype int16 rounds to nearest and reports it; out-of-range values fail', async () => {
    const out = path.join(tmp, 'f2i.nii.gz');
    const res = await mednextExit('nifti', 'convert', FIXTURES + 'float32.nii', out, '--datatype', 'int16');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/\d+ voxel\(s\) rounded to integers/);
    const [src, dst] = await Promise.all([readNifti(FIXTURES + 'float32.nii'), readNifti(out)]);
    expect(dst.datatype.name).toBe('int16');
    expect(dst.rawAt(1, 2, 3)).toBe(Math.sign(src.rawAt(1, 2, 3)) * Math.round(Math.abs(src.rawAt(1, 2, 3))));
    const bad = await mednextExit(
      'nifti',
      'convert',
      FIXTURES + 'int32.nii',
      path.join(tmp, 'bad.nii'),
      '--datatype',
      'uint8',
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('outside the uint8 range');
    const unknown = await mednextExit(
      'nifti',
      'convert',
      FIXTURES + 'int16.nii',
      path.join(tmp, 'x.nii'),
      '--datatype',
      'complex64',
    );
    expect(unknown.stderr).toContain('unknown datatype "complex64"');
  });
});
