import { describe, expect, it } from 'vitest';
import { GridPointTree } from '../src/volume/surface-nearest.js';
import { rng } from './volume-test-utils.js';

describe('GridPointTree', () => {
  it('finds exact nearest squared distances (anisotropic, near and far queries, C-order query sweep)', () => {
    const r = rng(42);
    const spacing: [number, number, number] = [0.9375, 1.5, 2];
    const pts = Int32Array.from({ length: 3 * 500 }, () => Math.floor(r() * 30));
    const tree = new GridPointTree(pts, spacing);
    expect(tree.size).toBe(500);
    let checked = 0;
    for (let x = -20; x < 70; x += 3) {
      for (let y = 0; y < 30; y += 4) {
        for (let z = 0; z < 30; z += 5) {
          let best = Infinity;
          for (let p = 0; p < pts.length; p += 3) {
            const dx = (x - pts[p]) * spacing[0];
            const dy = (y - pts[p + 1]) * spacing[1];
            const dz = (z - pts[p + 2]) * spacing[2];
            best = Math.min(best, dx * dx + dy * dy + dz * dz);
          }
          expect(tree.nearestSquared(x, y, z)).toBe(best);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('returns Infinity for an empty tree', () => {
    expect(new GridPointTree(new Int32Array(0), [1, 1, 1]).nearestSquared(1, 2, 3)).toBe(Infinity);
  });
});
