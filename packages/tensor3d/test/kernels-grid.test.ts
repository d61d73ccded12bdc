import { describe, expect, it } from 'vitest';
import { random, useKernelRuntimes } from './helpers/kernel-test-utils.js';
import { gelu, geluReference, gridAddInMemory, gridGatherInMemory } from '../src/kernels/index.js';

type S3 = [number, number, number];

/** Index of voxel (z, y, x) of a [d, h, w] volume. */
const at = (s: S3, z: number, y: number, x: number): number => (z * s[1] + y) * s[2] + x;

/** volume[origin + step * p] op= dense[p], in plain JS. */
function gridReference(
  volume: Float32Array,
  vs: S3,
  dense: Float32Array,
  ds: S3,
  c: number,
  origin: S3,
  step: number,
  mode: 'add' | 'gather',
): void {
  for (let z = 0; z < ds[0]; z++)
    for (let y = 0; y < ds[1]; y++)
      for (let x = 0; x < ds[2]; x++) {
        const v = at(vs, origin[0] + step * z, origin[1] + step * y, origin[2] + step * x) * c;
        const d = at(ds, z, y, x) * c;
        for (let ch = 0; ch < c; ch++) {
          if (mode === 'add') volume[v + ch] += dense[d + ch];
          else dense[d + ch] = volume[v + ch];
        }
      }
}

const rts = useKernelRuntimes();

describe('strided-grid kernels', () => {
  const cases: Array<{ label: string; vs: S3; ds: S3; origin: S3; step: number; c: number }> = [
    { label: 'front padding (origin 1, step 1)', vs: [6, 8, 5], ds: [5, 7, 4], origin: [1, 1, 1], step: 1, c: 8 },
    { label: 'stride-2 residual (origin 1, step 2)', vs: [6, 8, 10], ds: [3, 4, 5], origin: [1, 1, 1], step: 2, c: 4 },
    { label: 'odd box inside (origin 2,0,3)', vs: [7, 5, 9], ds: [3, 3, 2], origin: [2, 0, 3], step: 2, c: 12 },
  ];
  for (const cs of cases) {
    it(`grid_add and grid_gather match plain loops: ${cs.label}`, () => {
      const nV = cs.vs[0] * cs.vs[1] * cs.vs[2] * cs.c;
      const nD = cs.ds[0] * cs.ds[1] * cs.ds[2] * cs.c;
      const volume = random(nV, 3);
      const dense = random(nD, 4);
      const wantAdd = volume.slice();
      gridReference(wantAdd, cs.vs, dense, cs.ds, cs.c, cs.origin, cs.step, 'add');
      const wantGather = new Float32Array(nD);
      gridReference(volume, cs.vs, wantGather, cs.ds, cs.c, cs.origin, cs.step, 'gather');
      for (const rt of [rts.one, rts.two]) {
        const mark = rt.mark();
        const v = rt.put(volume);
        const d = rt.put(dense);
        const g = {
          volume: v,
          volumeSpatial: cs.vs,
          dense: d,
          denseSpatial: cs.ds,
          c: cs.c,
          origin: cs.origin,
          step: cs.step,
        };
        gridAddInMemory(rt, g);
        expect(Array.from(rt.f32(v, nV))).toEqual(Array.from(wantAdd));
        rt.f32(v, nV).set(volume);
        gridGatherInMemory(rt, g);
        expect(Array.from(rt.f32(d, nD))).toEqual(Array.from(wantGather));
        rt.release(mark);
      }
    });
  }

  it('rejects a window that leaves the volume, naming it', () => {
    const g = { volume: 0, volumeSpatial: [4, 4, 4] as S3, dense: 0, denseSpatial: [3, 2, 2] as S3, c: 4 };
    expect(() => gridAddInMemory(rts.one, { ...g, origin: [1, 1, 1], step: 2 })).toThrow(
      /window \(origin 1,1,1, step 2, size 3x2x2\) leaves the volume 4x4x4/,
    );
    expect(() => gridGatherInMemory(rts.one, { ...g, c: 6, origin: [0, 0, 0], step: 1 })).toThrow(/multiple of 4/);
  });
});

describe('rational GELU (the GEMM epilogue form)', () => {
  it('is within 3e-7 * max(1, |x|) of erf-GELU from -12 to 12, and exact at 0 and the clamp', () => {
    const n = 48001;
    const x = new Float32Array(n).map((_, i) => -12 + (24 * i) / (n - 1));
    const got = gelu(rts.one, x, { form: 'rational' });
    let worst = 0;
    for (let i = 0; i < n; i++) {
      worst = Math.max(worst, Math.abs(got[i] - geluReference(x[i])) / Math.max(1, Math.abs(x[i])));
    }
    expect(worst).toBeLessThan(3e-7);
    expect(got[(n - 1) / 2]).toBe(0);
    // far tails: 0 and x
    const tails = gelu(rts.one, Float32Array.from([-30, 30, -6, 6]), { form: 'rational' });
    expect(Math.abs(tails[0])).toBeLessThan(1e-7);
    expect(tails[1]).toBeCloseTo(30, 5);
    expect(Math.abs(tails[2] - geluReference(-6))).toBeLessThan(2e-6);
    // a different evaluation than the default erfc form (which keeps relative accuracy in the far tail)
    const erfc = gelu(rts.one, x);
    expect(got.some((v, i) => v !== erfc[i])).toBe(true);
    // on two threads, bit for bit
    expect(Array.from(gelu(rts.two, x, { form: 'rational' }))).toEqual(Array.from(got));
  });
});
