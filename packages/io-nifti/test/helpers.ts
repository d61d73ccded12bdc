import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Folder holding the copied reference fixtures (made with nibabel 5.0, see README in shared/fixtures/nifti). */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** A spot value as written in expected.json ("nan", "inf", "-inf" for non-finite values). */
export type JsonNumber = number | 'nan' | 'inf' | '-inf';

export interface ExpectedValid {
  file: string;
  format: 'nifti1' | 'nifti2';
  endianness: 'little' | 'big';
  magic: string;
  vox_offset: number;
  dim: number[];
  shape: number[];
  datatype: number;
  bitpix: number;
  pixdim: number[];
  xyzt_units: number;
  scl_slope: number;
  scl_inter: number;
  scaling_applied: boolean;
  qform_code: number;
  sform_code: number;
  quatern_bcd: number[];
  qoffset_xyz: number[];
  srow_x: number[];
  srow_y: number[];
  srow_z: number[];
  descrip: string;
  n_extensions: number;
  affine_best_nibabel: number[][];
  affine_qform: number[][] | null;
  affine_sform: number[][] | null;
  affine_qform_ignoring_code: number[][];
  affine_nifti_method1: number[][];
  values: {
    count: number;
    sha256_float64_le: string;
    raw_on_disk_sha256: string;
    min: number;
    max: number;
    sum_fsum: number;
  };
  spot_voxels: { name: string; index: number[]; raw: JsonNumber; value: JsonNumber }[];
}

export interface ExpectedBroken {
  file: string;
  problem: string;
}

export const EXPECTED = JSON.parse(readFileSync(`${FIXTURES}expected.json`, 'utf8')) as {
  valid: ExpectedValid[];
  broken: ExpectedBroken[];
};

/** Fixtures copied into the package (the 2.6 MB BraTS-size file stays in shared/ and is used by the benchmark). */
export const LOCAL_VALID = EXPECTED.valid.filter((e) => e.file !== 'brats_size_int16.nii.gz');

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function jsonNumber(v: JsonNumber): number {
  return v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v;
}

/** Largest absolute element difference of two 4x4 matrices. */
export function maxAbsDiff(a: number[][], b: number[][]): number {
  let d = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) d = Math.max(d, Math.abs(a[i]![j]! - b[i]![j]!));
  return d;
}
