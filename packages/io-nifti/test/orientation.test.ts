import { describe, expect, it } from 'vitest';
import {
  affineToQuaternion,
  axisMapping,
  NiftiImage,
  qformAffineIgnoringCode,
  reorient,
  type Mat4,
} from '../src/index.js';
import { readNifti } from '../src/node/index.js';
import { FIXTURES, maxAbsDiff } from './helpers.js';

function world(a: Mat4, i: number, j: number, k: number): number[] {
  return [0, 1, 2].map((r) => a[r]![0]! * i + a[r]![1]! * j + a[r]![2]! * k + a[r]![3]!);
}

/** Every voxel of `b` must hold the value of the voxel of `a` at the same world position. */
function expectSameWorld(a: NiftiImage, b: NiftiImage, tol: number): void {
  const ainv = invertAffine(a.affine);
  const [nx, ny, nz] = b.spatialShape;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const w = world(b.affine, i, j, k);
        const v = world(ainv, w[0]!, w[1]!, w[2]!);
        const idx = v.map((x) => Math.round(x));
        v.forEach((x, d) => expect(Math.abs(x - idx[d]!)).toBeLessThan(tol));
        expect(b.rawAt(i, j, k)).toBe(a.rawAt(idx[0]!, idx[1]!, idx[2]!));
      }
}

function invertAffine(m: Mat4): Mat4 {
  const [a, b, c] = [m[0]!, m[1]!, m[2]!];
  const det =
    a[0]! * (b[1]! * c[2]! - b[2]! * c[1]!) -
    a[1]! * (b[0]! * c[2]! - b[2]! * c[0]!) +
    a[2]! * (b[0]! * c[1]! - b[1]! * c[0]!);
  const inv = [
    [
      (b[1]! * c[2]! - b[2]! * c[1]!) / det,
      (a[2]! * c[1]! - a[1]! * c[2]!) / det,
      (a[1]! * b[2]! - a[2]! * b[1]!) / det,
    ],
    [
      (b[2]! * c[0]! - b[0]! * c[2]!) / det,
      (a[0]! * c[2]! - a[2]! * c[0]!) / det,
      (a[2]! * b[0]! - a[0]! * b[2]!) / det,
    ],
    [
      (b[0]! * c[1]! - b[1]! * c[0]!) / det,
      (a[1]! * c[0]! - a[0]! * c[1]!) / det,
      (a[0]! * b[1]! - a[1]! * b[0]!) / det,
    ],
  ];
  const t = [a[3]!, b[3]!, c[3]!];
  return [...inv.map((row) => [...row, -(row[0]! * t[0]! + row[1]! * t[1]! + row[2]! * t[2]!)]), [0, 0, 0, 1]];
}

describe('reorient (permutation and flips only)', () => {
  it('axisMapping LPS -> RAS flips x and y', () => {
    expect(axisMapping('LPS', 'RAS')).toEqual({ source: [0, 1, 2], flip: [true, true, false] });
    expect(axisMapping('SAR', 'RAS')).toEqual({ source: [2, 1, 0], flip: [false, false, false] });
  });

  it.each(['qform_sform_both.nii', 'qform_only.nii', 'nifti2_bigendian_uint16.nii', 'sform_only.nii'])(
    '%s to RAS keeps every voxel at its world position',
    async (file) => {
      const img = await readNifti(FIXTURES + file);
      const ras = reorient(img, 'RAS');
      expect(ras.orientation).toBe('RAS');
      expectSameWorld(img, ras, 1e-4);
      // Back to the original orientation gives the original data.
      const back = reorient(ras, img.orientation);
      expect(back.data).toEqual(img.data);
      expect(maxAbsDiff(back.affine, img.affine)).toBeLessThan(1e-5);
    },
  );

  it('handles a permuted (SPL) synthetic image and returns the same image when already there', () => {
    const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
    // voxel axes: x -> superior, y -> posterior, z -> left
    const affine: Mat4 = [
      [0, 0, -2, 10],
      [0, -1.5, 0, 20],
      [3, 0, 0, -5],
      [0, 0, 0, 1],
    ];
    const img = NiftiImage.fromCOrder(data, [2, 3, 4], { affine });
    expect(img.orientation).toBe('SPL');
    const ras = reorient(img);
    expect(ras.shape).toEqual([4, 3, 2]);
    expect(ras.spacing).toEqual([2, 1.5, 3]);
    expectSameWorld(img, ras, 1e-9);
    expect(reorient(ras, 'ras')).toBe(ras);
    // The qform written for the new affine reproduces it.
    expect(maxAbsDiff(qformAffineIgnoringCode(ras.header), ras.affine)).toBeLessThan(1e-12);
  });

  it('rejects bad orientation strings', async () => {
    const img = await readNifti(FIXTURES + 'int16.nii');
    expect(() => reorient(img, 'RRS')).toThrow(/three letters/);
    expect(() => reorient(img, 'RA')).toThrow(/three letters/);
  });

  it('refuses to reorient an image without orientation codes (except to its fallback orientation)', async () => {
    const img = await readNifti(FIXTURES + 'no_orientation.nii');
    expect(reorient(img, 'RAS')).toBe(img);
    expect(() => reorient(img, 'LPS')).toThrow(/no orientation/);
  });
});

describe('affine to quaternion', () => {
  it('recovers the BraTS-style LPS qform fields (quaternion 0,0,1)', () => {
    const q = affineToQuaternion([
      [-1, 0, 0, 0],
      [0, -1, 0, 239],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ]);
    expect([q.quaternB, q.quaternC, q.quaternD, q.qfac]).toEqual([0, 0, 1, 1]);
    expect([q.qoffsetX, q.qoffsetY, q.qoffsetZ]).toEqual([0, 239, 0]);
  });

  it.each(['qform_only.nii', 'qform_sform_both.nii', 'nifti2_float64.nii.gz'])(
    'round-trips the qform of %s',
    async (file) => {
      const img = await readNifti(FIXTURES + file);
      const m = qformAffineIgnoringCode(img.header);
      const q = affineToQuaternion(m);
      expect(q.qfac).toBe(img.header.pixdim[0]! < 0 ? -1 : 1);
      expect(Math.abs(q.quaternB - img.header.quaternB)).toBeLessThan(1e-6);
      expect(Math.abs(q.quaternC - img.header.quaternC)).toBeLessThan(1e-6);
      expect(Math.abs(q.quaternD - img.header.quaternD)).toBeLessThan(1e-6);
    },
  );
});
