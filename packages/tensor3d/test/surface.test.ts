import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  computeSurfaceDistances,
  hausdorffDistance,
  numpyPairwiseSum,
  robustHausdorff,
  surfelAreaTable,
} from '../src/volume/surface.js';
import type { Shape3 } from '../src/volume/volume.js';
import { forEachVoxel, randomMask, rng } from './volume-test-utils.js';

const table = JSON.parse(
  readFileSync(new URL('./fixtures/surface_distance_neighbour_code_table.json', import.meta.url), 'utf8'),
) as { derived_area_spacing_1_1_1: number[]; derived_area_spacing_1_1_2: number[] };

/**
 * Slow reference written straight from the definition (spec §7): neighbour codes on the full
 * volume padded by one voxel on the high side, brute-force nearest surface point.
 */
function referenceHd(a: ArrayLike<number>, b: ArrayLike<number>, shape: Shape3, sp: [number, number, number]): number {
  const [nx, ny, nz] = shape;
  const areas = surfelAreaTable(sp);
  const v = (m: ArrayLike<number>, x: number, y: number, z: number) =>
    x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz ? 0 : m[(x * ny + y) * nz + z] & 255;
  const surface = (m: ArrayLike<number>) => {
    const pts: Array<[number, number, number, number]> = [];
    for (let x = 0; x <= nx; x++)
      for (let y = 0; y <= ny; y++)
        for (let z = 0; z <= nz; z++) {
          let code = 0;
          for (let di = 0; di < 2; di++)
            for (let dj = 0; dj < 2; dj++)
              for (let dk = 0; dk < 2; dk++) code += v(m, x - di, y - dj, z - dk) * 2 ** (4 * di + 2 * dj + dk);
          code %= 256;
          if (code !== 0 && code !== 255) pts.push([x, y, z, areas[code]]);
        }
    return pts;
  };
  const sa = surface(a);
  const sb = surface(b);
  const directed = (from: typeof sa, to: typeof sa) => {
    if (from.length === 0) return Infinity;
    const pairs = from.map(([x, y, z, area]) => {
      let best = Infinity;
      for (const [u, w, t] of to)
        best = Math.min(best, ((x - u) * sp[0]) ** 2 + ((y - w) * sp[1]) ** 2 + ((z - t) * sp[2]) ** 2);
      return [Math.sqrt(best), area];
    });
    pairs.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
    const total = pairs.reduce((s, p) => s + p[1], 0);
    let cum = 0;
    for (const [d, area] of pairs) {
      cum += area;
      if (cum / total >= 0.95 - 1e-12) return d;
    }
    return pairs[pairs.length - 1][0];
  };
  return Math.max(directed(sa, sb), directed(sb, sa));
}

describe('surfelAreaTable', () => {
  it('reproduces the derived areas of the reference table for 1x1x1 and 1x1x2 mm', () => {
    const t1 = surfelAreaTable([1, 1, 1]);
    const t2 = surfelAreaTable([1, 1, 2]);
    for (let c = 0; c < 256; c++) {
      expect(t1[c]).toBeCloseTo(table.derived_area_spacing_1_1_1[c], 12);
      expect(t2[c]).toBeCloseTo(table.derived_area_spacing_1_1_2[c], 12);
    }
    expect(t1[0]).toBe(0);
    expect(t1[1]).toBeCloseTo(Math.sqrt(3) / 8, 15);
  });
});

describe('surface distances and HD95', () => {
  it('two single voxels 3 voxels apart along z: HD95 = 3 (and 6 at 2 mm slices)', () => {
    const shape: Shape3 = [3, 3, 8];
    const a = new Uint8Array(72);
    const b = new Uint8Array(72);
    a[(1 * 3 + 1) * 8 + 1] = 1;
    b[(1 * 3 + 1) * 8 + 4] = 1;
    const sd = computeSurfaceDistances(a, b, shape, [1, 1, 1]);
    // 8 corners each; the near face is 2 mm away, the far one 3 mm.
    expect(Array.from(sd.distancesAtoB)).toEqual([2, 2, 2, 2, 3, 3, 3, 3]);
    expect(robustHausdorff(sd)).toBe(3);
    expect(hausdorffDistance(a, b, shape, [1, 1, 2])).toBe(6);
  });

  it('identical masks: 0; one side empty: Infinity; both empty: no surface points', () => {
    const shape: Shape3 = [6, 6, 6];
    const a = randomMask(shape, 0.3, 5);
    expect(hausdorffDistance(a, a, shape, [1, 1, 1])).toBe(0);
    expect(hausdorffDistance(a, new Uint8Array(a.length), shape, [1, 1, 1])).toBe(Infinity);
    const none = computeSurfaceDistances(new Uint8Array(8), new Uint8Array(8), [2, 2, 2], [1, 1, 1]);
    expect(none.distancesAtoB.length + none.distancesBtoA.length).toBe(0);
  });

  it.each([
    [[1, 1, 1], 11],
    [[0.9375, 0.9375, 1.5], 12],
    [[1, 2, 0.5], 13],
  ] as const)('matches a brute-force reference on random blobs (spacing %j)', (sp, seed) => {
    const shape: Shape3 = [9, 8, 10];
    const r = rng(seed);
    const a = new Uint8Array(720);
    const b = new Uint8Array(720);
    forEachVoxel(shape, (x, y, z, i) => {
      const da = (x - 4) ** 2 + (y - 3) ** 2 + (z - 5) ** 2;
      const db = (x - 5) ** 2 + (y - 4) ** 2 + (z - 4) ** 2;
      a[i] = da < 9 + 4 * r() ? 1 : 0;
      b[i] = db < 7 + 5 * r() ? 1 : 0;
    });
    const got = hausdorffDistance(a, b, shape, sp as [number, number, number]);
    expect(got).toBeGreaterThan(0);
    expect(got).toBeCloseTo(referenceHd(a, b, shape, sp as [number, number, number]), 10);
  });

  it('treats values mod 256 and wraps the neighbour code (lesion-number maps)', () => {
    const shape: Shape3 = [6, 6, 6];
    const one = new Uint8Array(216);
    const two = new Int32Array(216);
    const wrap = new Int32Array(216);
    forEachVoxel(shape, (x, y, z, i) => {
      if (x >= 1 && x <= 4 && y >= 1 && y <= 4 && z >= 1 && z <= 4) {
        one[i] = 1;
        two[i] = 2;
        wrap[i] = 257; // 257 mod 256 = 1
      }
    });
    expect(hausdorffDistance(one, one, shape, [1, 1, 1])).toBe(0);
    expect(hausdorffDistance(wrap, one, shape, [1, 1, 1])).toBe(0);
    // Value 2: interior codes are 2*255 mod 256 = 254, so the interior counts as surface.
    const hd = hausdorffDistance(two, one, shape, [1, 1, 1]);
    expect(hd).toBeGreaterThan(0);
    expect(hd).toBeCloseTo(referenceHd(two, one, shape, [1, 1, 1]), 12);
  });
});

describe('numpyPairwiseSum', () => {
  it('sums like NumPy (blocks of 8, pairwise above 128) and stays close to the exact sum', () => {
    const r = rng(3);
    const a = Float64Array.from({ length: 1000 }, () => r());
    let kahan = 0;
    let c = 0;
    for (const v of a) {
      const y = v - c;
      const t = kahan + y;
      c = t - kahan - y;
      kahan = t;
    }
    expect(numpyPairwiseSum(a)).toBeCloseTo(kahan, 10);
    expect(numpyPairwiseSum(Float64Array.of(1, 2, 3))).toBe(6);
    // 0.1 x 10: sequential gives 0.9999999999999999, NumPy's 8 accumulators give 1.
    expect(numpyPairwiseSum(new Float64Array(10).fill(0.1))).toBe(
      0.1 + 0.1 + (0.1 + 0.1) + (0.1 + 0.1 + (0.1 + 0.1)) + 0.1 + 0.1,
    );
  });
});
