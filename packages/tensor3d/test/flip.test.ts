import { describe, expect, it } from 'vitest';
import { allMirrorCombinations, flipSpatial } from '../src/volume/flip.js';

/** Value encodes its own coordinates so a flip can be checked voxel by voxel. */
function coded(outer: number, nx: number, ny: number, nz: number): Float32Array {
  const a = new Float32Array(outer * nx * ny * nz);
  let i = 0;
  for (let o = 0; o < outer; o++)
    for (let x = 0; x < nx; x++)
      for (let y = 0; y < ny; y++) for (let z = 0; z < nz; z++) a[i++] = o * 1000 + x * 100 + y * 10 + z;
  return a;
}

describe('flipSpatial', () => {
  it('mirrors exactly the requested axes of every leading volume', () => {
    const [nx, ny, nz] = [3, 4, 5];
    const a = coded(2, nx, ny, nz);
    const f = flipSpatial(a, [nx, ny, nz], [0, 2]);
    for (let o = 0; o < 2; o++)
      for (let x = 0; x < nx; x++)
        for (let y = 0; y < ny; y++)
          for (let z = 0; z < nz; z++) {
            const v = f[((o * nx + x) * ny + y) * nz + z]!;
            expect(v).toBe(o * 1000 + (nx - 1 - x) * 100 + y * 10 + (nz - 1 - z));
          }
  });

  it('is its own inverse for all 8 combinations and leaves the input untouched', () => {
    const a = coded(1, 4, 3, 2);
    const copy = a.slice();
    const combos = allMirrorCombinations();
    expect(combos).toHaveLength(8);
    expect(combos[0]).toEqual([]);
    expect(new Set(combos.map((c) => c.join(''))).size).toBe(8);
    for (const axes of combos) {
      const twice = flipSpatial(flipSpatial(a, [4, 3, 2], axes), [4, 3, 2], axes);
      expect(twice).toEqual(a);
    }
    expect(a).toEqual(copy);
    expect(flipSpatial(new Uint8Array([1, 2, 3]), [1, 1, 3], [2])).toEqual(new Uint8Array([3, 2, 1]));
  });

  it('rejects data that is not whole volumes', () => {
    expect(() => flipSpatial(new Float32Array(7), [2, 2, 2], [0])).toThrow(/whole/);
  });
});
