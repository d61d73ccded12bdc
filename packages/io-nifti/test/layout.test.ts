import { describe, expect, it } from 'vitest';
import { NiftiImage, cToDisk, diskToC } from '../src/index.js';
import { readNifti } from '../src/node/index.js';
import { FIXTURES } from './helpers.js';

describe('on-disk (x fastest) <-> C order (z fastest)', () => {
  it('toCOrder puts voxel (i,j,k) at (i*ny + j)*nz + k', async () => {
    // int16.nii holds linear - 500 with linear = i + 11*(j + 13*k), except the two extreme voxels.
    const img = await readNifti(FIXTURES + 'int16.nii');
    const { data, shape } = img.toCOrder();
    expect(shape).toEqual([11, 13, 7]);
    expect(data).toBeInstanceOf(Float32Array);
    for (const [i, j, k] of [
      [1, 2, 3],
      [7, 3, 5],
      [10, 0, 0],
      [0, 12, 0],
      [0, 0, 6],
    ] as const) {
      expect(data[(i * 13 + j) * 7 + k]).toBe(i + 11 * (j + 13 * k) - 500);
    }
    expect(data[0]).toBe(-32768);
    expect(data[data.length - 1]).toBe(32767);
  });

  it('applies scaling in float64 before the single float32 rounding', async () => {
    const img = await readNifti(FIXTURES + 'uint8_scaled_inexact.nii');
    const f32 = img.toCOrder('float32');
    const f64 = img.toCOrder('float64');
    const idx = (1 * 13 + 2) * 7 + 3;
    expect(f64.data[idx]).toBe(img.valueAt(1, 2, 3));
    expect(f32.data[idx]).toBe(Math.fround(img.valueAt(1, 2, 3)));
  });

  it('4-D images become [c, nx, ny, nz], channel slowest', async () => {
    // 4d_float32: value = 0.5 * (linear + 1000 t)
    const img = await readNifti(FIXTURES + '4d_float32.nii.gz');
    const { data, shape } = img.toCOrder();
    expect(shape).toEqual([4, 11, 13, 7]);
    const n = 11 * 13 * 7;
    expect(data[2 * n + (4 * 13 + 5) * 7 + 6]).toBe(0.5 * (4 + 11 * (5 + 13 * 6) + 2000));
  });

  it('rawToCOrder keeps the stored type and fromCOrder inverts it exactly', async () => {
    const img = await readNifti(FIXTURES + 'int32.nii');
    const c = img.rawToCOrder();
    expect(c.data).toBeInstanceOf(Int32Array);
    img.header.calMax = 1000; // a display window that must not carry over to new data
    const back = NiftiImage.fromCOrder(c.data, c.shape, { reference: img });
    expect(back.header.calMax).toBe(0);
    expect(back.data).toEqual(img.data);
    expect(back.affine).toEqual(img.affine);
    expect(back.header.srowX).toEqual(img.header.srowX);
  });

  it('diskToC and cToDisk are inverse across tile boundaries, with and without scaling', () => {
    const [nx, ny, nz, c] = [37, 3, 70, 2]; // not multiples of the 32-voxel tile
    const n = nx * ny * nz;
    const disk = Float64Array.from({ length: n * c }, (_, i) => i * 1.5);
    const cOrder = new Float64Array(disk.length);
    diskToC(disk, cOrder, nx, ny, nz, c);
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < nx; i++)
        for (let j = 0; j < ny; j++)
          for (let k = 0; k < nz; k++) {
            if (cOrder[ch * n + (i * ny + j) * nz + k] !== disk[ch * n + i + nx * (j + ny * k)])
              throw new Error(`voxel ${ch},${i},${j},${k}`);
          }
    const again = new Float64Array(disk.length);
    cToDisk(cOrder, again, nx, ny, nz, c);
    expect(again).toEqual(disk);
    const scaled = new Float32Array(disk.length);
    diskToC(disk, scaled, nx, ny, nz, c, 0.5, -3);
    expect(scaled[n + (36 * ny + 2) * nz + 69]).toBe(Math.fround(disk[n + 36 + nx * (2 + ny * 69)]! * 0.5 - 3));
  });

  it('fromCOrder sets explicit header fields and geometry', () => {
    const img = NiftiImage.fromCOrder(new Float32Array(8), [2, 2, 2], {
      spacing: [0.5, 0.6, 0.7],
      descrip: 'probabilities',
      header: { intentCode: 2, intentName: 'prob', xyztUnits: 2, calMax: 1 },
    });
    expect(img.spacing).toEqual([0.5, 0.6, 0.7]);
    expect(img.affine).toEqual([
      [0.5, 0, 0, 0],
      [0, 0.6, 0, 0],
      [0, 0, 0.7, 0],
      [0, 0, 0, 1],
    ]);
    expect([
      img.header.descrip,
      img.header.intentCode,
      img.header.intentName,
      img.header.xyztUnits,
      img.header.calMax,
    ]).toEqual(['probabilities', 2, 'prob', 2, 1]);
  });

  it('fromCOrder refuses data that does not fit the shape or the reference', async () => {
    const ref = await readNifti(FIXTURES + 'int16.nii');
    expect(() => NiftiImage.fromCOrder(new Uint8Array(10), [2, 2, 2])).toThrow(/needs 8/);
    expect(() => NiftiImage.fromCOrder(new Uint8Array(8), [2, 2, 2], { reference: ref })).toThrow(
      /reference image is 11x13x7/,
    );
  });
});
