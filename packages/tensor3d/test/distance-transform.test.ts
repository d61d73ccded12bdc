import { describe, expect, it } from 'vitest';
import { distanceTransform, squaredDistanceTransform } from '../src/volume/distance-transform.js';
import type { Shape3 } from '../src/volume/volume.js';
import { forEachVoxel, randomMask } from './volume-test-utils.js';

function bruteForce(features: Uint8Array, shape: Shape3, spacing: [number, number, number]): Float64Array {
  const pts: number[][] = [];
  forEachVoxel(shape, (x, y, z, i) => {
    if (features[i]) pts.push([x, y, z]);
  });
  const out = new Float64Array(features.length);
  forEachVoxel(shape, (x, y, z, i) => {
    let best = Infinity;
    for (const [a, b, c] of pts) {
      const d = ((x - a) * spacing[0]) ** 2 + ((y - b) * spacing[1]) ** 2 + ((z - c) * spacing[2]) ** 2;
      if (d < best) best = d;
    }
    out[i] = best;
  });
  return out;
}

describe('squaredDistanceTransform', () => {
  it.each([
    [[1, 1, 1], 0.02],
    [[0.5, 1.25, 3], 0.02],
    [[2.5, 0.7, 1], 0.002],
  ] as const)('equals brute force with spacing %j', (spacing, p) => {
    const shape: Shape3 = [13, 10, 11];
    const f = randomMask(shape, p, Math.round(spacing[0] * 100));
    const got = squaredDistanceTransform(f, shape, spacing as [number, number, number]);
    const want = bruteForce(f, shape, spacing as [number, number, number]);
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i], 9);
  });

  it('is infinite everywhere without features and zero on them', () => {
    expect(Array.from(squaredDistanceTransform(new Uint8Array(8), [2, 2, 2]))).toEqual(new Array(8).fill(Infinity));
    const d = distanceTransform(Uint8Array.of(0, 0, 0, 1), [1, 1, 4], [1, 1, 2]);
    expect(Array.from(d)).toEqual([6, 4, 2, 0]);
  });

  it('rejects non-positive spacing', () => {
    expect(() => squaredDistanceTransform(new Uint8Array(8), [2, 2, 2], [1, 0, 1])).toThrow(/spacing/);
  });
});
