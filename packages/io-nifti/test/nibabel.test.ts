import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NiftiImage, float64LittleEndianBytes, reorient, supportedDatatypes, type Mat4 } from '../src/index.js';
import { readNifti, writeNifti } from '../src/node/index.js';
import { FIXTURES, maxAbsDiff, sha256 } from './helpers.js';

/** Debian's python3-nibabel, when installed: an independent reader for our output. */
function hasNibabel(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import nibabel'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const SCRIPT = `
import sys, json, hashlib, numpy as np, nibabel as nib
out = []
for f in sys.argv[1:]:
    img = nib.load(f)
    data = np.asarray(img.get_fdata(), dtype='<f8')
    out.append({'shape': list(img.shape), 'dtype': str(img.get_data_dtype()),
                'sha': hashlib.sha256(data.tobytes(order='F')).hexdigest(),
                'affine': img.affine.tolist(), 'codes': [int(img.header['qform_code']), int(img.header['sform_code'])]})
print(json.dumps(out))
`;

describe.skipIf(!hasNibabel())('nibabel reads what we write', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'io-nifti-nib-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('values, dtype, shape and affine agree for fixtures re-written as .nii/.nii.gz, NIfTI-2 and reoriented', async () => {
    const cases: { file: string; image: NiftiImage }[] = [];
    for (const f of [
      'int16_scaled.nii',
      'bigendian_float32.nii.gz',
      'nifti2_float64.nii.gz',
      '4d_float32.nii.gz',
      'uint8.nii',
    ]) {
      const image = await readNifti(FIXTURES + f);
      cases.push({ file: path.join(tmp, f.replace(/\.nii(\.gz)?$/, '.w.nii.gz')), image });
    }
    cases.push({
      file: path.join(tmp, 'ras.nii'),
      image: reorient(await readNifti(FIXTURES + 'qform_sform_both.nii'), 'RAS'),
    });
    const affine: Mat4 = [
      [-1, 0, 0, 0],
      [0, -1, 0, 239],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    const seg = Uint8Array.from({ length: 4 * 5 * 6 }, (_, i) => i % 5);
    cases.push({ file: path.join(tmp, 'seg.nii.gz'), image: NiftiImage.fromCOrder(seg, [4, 5, 6], { affine }) });
    for (const dt of supportedDatatypes()) {
      // Each datatype's extremes (int64/uint64 limited to the exact float64 range) plus a ramp.
      const data = new dt.array(4 * 3 * 2);
      data.forEach((_, i) => (data[i] = i === 0 ? dt.min : i === 1 ? dt.max : dt.integer ? i : i * 0.25 - 1));
      const image = NiftiImage.fromCOrder(data, [4, 3, 2], { affine, datatype: dt.code });
      cases.push({ file: path.join(tmp, `all_${dt.name}.nii`), image });
    }
    for (const c of cases) await writeNifti(c.file, c.image);
    const report = JSON.parse(
      execFileSync('/usr/bin/python3', ['-c', SCRIPT, ...cases.map((c) => c.file)], { encoding: 'utf8' }),
    ) as {
      shape: number[];
      dtype: string;
      sha: string;
      affine: number[][];
      codes: number[];
    }[];
    cases.forEach((c, i) => {
      const r = report[i]!;
      expect(r.shape, c.file).toEqual(c.image.shape);
      expect(r.dtype).toBe(c.image.datatype.name);
      expect(r.sha, c.file).toBe(sha256(float64LittleEndianBytes(c.image.scaledValues())));
      expect(maxAbsDiff(r.affine, c.image.affine), c.file).toBeLessThan(1e-5);
      expect(r.codes).toEqual([c.image.header.qformCode, c.image.header.sformCode]);
    });
  });
});

const CANONICAL = `
import sys, json, hashlib, numpy as np, nibabel as nib
out = []
for f in sys.argv[1:]:
    img = nib.as_closest_canonical(nib.load(f))
    raw = np.asanyarray(img.dataobj)
    out.append({'codes': ''.join(nib.aff2axcodes(nib.load(f).affine)), 'shape': list(raw.shape),
                'sha': hashlib.sha256(np.asarray(raw, dtype='<f8').tobytes(order='F')).hexdigest(), 'affine': img.affine.tolist()})
print(json.dumps(out))
`;

describe.skipIf(!hasNibabel())('reorient agrees with nibabel as_closest_canonical', () => {
  const files = [
    'qform_sform_both.nii',
    'qform_only.nii',
    'nifti2_bigendian_uint16.nii',
    'bigendian_int16.nii',
    'nibabel_native_int16.nii.gz',
  ];
  it.each(files)('%s', async (file) => {
    const [nib] = JSON.parse(
      execFileSync('/usr/bin/python3', ['-c', CANONICAL, FIXTURES + file], { encoding: 'utf8' }),
    ) as {
      codes: string;
      shape: number[];
      sha: string;
      affine: number[][];
    }[];
    const img = await readNifti(FIXTURES + file);
    expect(img.orientation).toBe(nib!.codes);
    const ras = reorient(img, 'RAS');
    expect(ras.shape).toEqual(nib!.shape);
    // np.asanyarray(dataobj) applies the scaling, so compare scaled values.
    expect(sha256(float64LittleEndianBytes(ras.scaledValues()))).toBe(nib!.sha);
    expect(maxAbsDiff(ras.affine, nib!.affine)).toBeLessThan(1e-5);
  });
});
