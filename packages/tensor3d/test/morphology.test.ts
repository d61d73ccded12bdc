import { describe, expect, it } from 'vitest';
import { binaryDilation } from '../src/volume/morphology.js';
import type { Shape3 } from '../src/volume/volume.js';
import { forEachNeighbour, forEachVoxel, randomMask } from './volume-test-utils.js';

/** Reference: one full pass per iteration, each voxel ORs its in-bounds neighbours. */
function naiveDilation(mask: Uint8Array, shape: Shape3, iterations: number, connectivity: number): Uint8Array {
  let cur = Uint8Array.from(mask, (v) => (v ? 1 : 0));
  for (let it = 0; it < iterations; it++) {
    const next = cur.slice();
    forEachVoxel(shape, (x, y, z, i) => {
      if (cur[i]) return;
      forEachNeighbour(shape, x, y, z, connectivity, (j) => {
        if (cur[j]) next[i] = 1;
      });
    });
    cur = next;
  }
  return cur;
}

describe('binaryDilation', () => {
  it.each([6, 18, 26] as const)('matches repeated full-pass dilation (connectivity %i)', (c) => {
    const shape: Shape3 = [10, 9, 12];
    const mask = randomMask(shape, 0.01, 7 + c);
    for (const iterations of [0, 1, 2, 3, 5]) {
      const got = binaryDilation(mask, shape, { iterations, connectivity: c });
      expect(Array.from(got)).toEqual(Array.from(naiveDilation(mask, shape, iterations, c)));
    }
  });

  it('grows a single voxel into the 18-neighbourhood shape (|d|inf <= k, |d|1 <= 2k)', () => {
    const shape: Shape3 = [11, 11, 11];
    const mask = new Uint8Array(11 ** 3);
    mask[(5 * 11 + 5) * 11 + 5] = 1;
    const d = binaryDilation(mask, shape, { iterations: 3 });
    let mismatches = 0;
    let size = 0;
    forEachVoxel(shape, (x, y, z, i) => {
      const [a, b, c] = [Math.abs(x - 5), Math.abs(y - 5), Math.abs(z - 5)];
      const inside = Math.max(a, b, c) <= 3 && a + b + c <= 6 ? 1 : 0;
      if (inside !== d[i]) mismatches++;
      size += d[i];
    });
    expect(mismatches).toBe(0);
    expect(size).toBe(7 ** 3 - 8 * 10); // cube minus the corners where |d|1 > 6: 8 corners x 10 voxels
  });

  it('does not wrap around the volume edges', () => {
    const shape: Shape3 = [1, 1, 6];
    const d = binaryDilation(Uint8Array.of(0, 0, 0, 0, 0, 1), shape, { iterations: 2, connectivity: 6 });
    expect(Array.from(d)).toEqual([0, 0, 0, 1, 1, 1]);
  });

  it('rejects a negative iteration count', () => {
    expect(() => binaryDilation(new Uint8Array(8), [2, 2, 2], { iterations: -1 })).toThrow(/iterations/);
  });
});
