import { describe, expect, it } from 'vitest';
import { maxAbsDiff, random, useKernelRuntimes } from './helpers/kernel-test-utils.js';
import {
  type InvertedBottleneckWeights,
  depthwiseReference,
  geluReference,
  matmulReference,
  invertedBottleneck,
  blockInMemory,
  packBlockWeights,
  freeBlockWeights,
} from '../src/kernels/index.js';

function weights(k: number, c: number, e: number, cout: number, seed: number): InvertedBottleneckWeights {
  return {
    k,
    dwFilter: random(k ** 3 * c, seed, 0.3),
    dwBias: random(c, seed + 1),
    gamma: random(c, seed + 2).map((v) => 1 + 0.5 * v),
    beta: random(c, seed + 3, 0.5),
    w2: random(c * e, seed + 4, 1 / Math.sqrt(c)),
    b2: random(e, seed + 5, 0.1),
    w3: random(e * cout, seed + 6, 1 / Math.sqrt(e)),
    b3: random(cout, seed + 7, 0.1),
  };
}

/** The block from the plain references, in float64 where it matters. */
function referenceBlock(
  x: Float32Array,
  spatial: [number, number, number],
  wt: InvertedBottleneckWeights,
  kind: 'block' | 'down' | 'up',
  outSpatial: number[],
  extra?: Float32Array,
): Float32Array {
  const c = wt.dwBias.length;
  const e = wt.b2.length;
  const cout = wt.b3.length;
  const h = depthwiseReference(x, [1, ...spatial, c], wt.dwFilter, wt.k, {
    stride: kind === 'block' ? 1 : 2,
    pad: wt.k >> 1,
    transposed: kind === 'up',
    bias: wt.dwBias,
    outSpatial,
  }).data;
  const v = h.length / c;
  const normed = new Float32Array(h.length);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let i = 0; i < v; i++) s += h[i * c + ch];
    const mean = s / v;
    let q = 0;
    for (let i = 0; i < v; i++) q += (h[i * c + ch] - mean) ** 2;
    const rstd = 1 / Math.sqrt(q / v + 1e-5);
    for (let i = 0; i < v; i++) normed[i * c + ch] = (h[i * c + ch] - mean) * rstd * wt.gamma[ch] + wt.beta[ch];
  }
  const expanded = matmulReference(normed, v, c, wt.w2, e, wt.b2).map(geluReference);
  const out = matmulReference(expanded, v, e, wt.w3, cout, wt.b3);
  if (extra) for (let i = 0; i < out.length; i++) out[i] += extra[i];
  return out;
}

const rts = useKernelRuntimes();

describe('fused MedNeXt block', () => {
  it('plain block k3 with the input residual (odd shape, several tiles) matches the references', () => {
    const spatial: [number, number, number] = [9, 11, 13];
    const [c, e] = [8, 16];
    const x = random(spatial[0] * spatial[1] * spatial[2] * c, 1);
    const wt = weights(3, c, e, c, 10);
    // 1287 voxels in tiles of 40: 33 tiles, the last one partial
    const got = invertedBottleneck(rts.one, x, spatial, wt, { kind: 'block', addInput: true, tileRows: 40 });
    expect(got.shape).toEqual([9, 11, 13, 8]);
    const want = referenceBlock(x, spatial, wt, 'block', spatial, x);
    expect(maxAbsDiff(got.data, want)).toBeLessThan(2e-5);
    // the same on two threads, bit for bit
    const before = rts.two.dispatches;
    const got2 = invertedBottleneck(rts.two, x, spatial, wt, { kind: 'block', addInput: true, tileRows: 40 });
    expect(rts.two.dispatches).toBeGreaterThan(before);
    // the default tile (one tile here) gives the same values too
    expect(
      maxAbsDiff(invertedBottleneck(rts.one, x, spatial, wt, { kind: 'block', addInput: true }).data, got.data),
    ).toBe(0);
    expect(maxAbsDiff(got2.data, got.data)).toBe(0);
  });
  it('down block k5 (stride 2, C -> 2C, exp 3) with an external residual matches the references', () => {
    const spatial: [number, number, number] = [7, 6, 9];
    const [c, e, cout] = [8, 24, 16];
    const x = random(7 * 6 * 9 * c, 2);
    const wt = weights(5, c, e, cout, 20);
    const residual = random(4 * 3 * 5 * cout, 3);
    const got = invertedBottleneck(rts.one, x, spatial, wt, { kind: 'down', residual });
    expect(got.shape).toEqual([4, 3, 5, 16]);
    expect(maxAbsDiff(got.data, referenceBlock(x, spatial, wt, 'down', [4, 3, 5], residual))).toBeLessThan(2e-5);
  });
  it('up block k3 (transposed stride 2, output 2n-1, C -> C/2) matches the references', () => {
    const spatial: [number, number, number] = [4, 5, 3];
    const [c, e, cout] = [16, 32, 8];
    const x = random(4 * 5 * 3 * c, 4);
    const wt = weights(3, c, e, cout, 30);
    const got = invertedBottleneck(rts.one, x, spatial, wt, { kind: 'up' });
    expect(got.shape).toEqual([7, 9, 5, 8]);
    expect(maxAbsDiff(got.data, referenceBlock(x, spatial, wt, 'up', [7, 9, 5]))).toBeLessThan(2e-5);
  });
  it('blockInMemory writes in place: over its depthwise output (plain) and over its residual (down)', () => {
    for (const r of [rts.one, rts.two]) {
      const spatial: [number, number, number] = [6, 7, 5];
      const [c, e] = [8, 16];
      const x = random(6 * 7 * 5 * c, 5);
      const wt = weights(3, c, e, c, 50);
      const want = referenceBlock(x, spatial, wt, 'block', spatial, x);
      const packed = packBlockWeights(r, wt);
      const mark = r.mark();
      const xa = r.put(x);
      const d = r.alloc(x.length * 4);
      blockInMemory(r, packed, { kind: 'block', x: xa, spatial, dwOut: d, out: d, residual: xa, tileRows: 12 });
      expect(maxAbsDiff(r.f32(d, x.length).slice(), want)).toBeLessThan(2e-5);
      // down: C -> 2C, the residual buffer becomes the output
      const wd = weights(3, c, 3 * c, 2 * c, 60);
      const pd = packBlockWeights(r, wd);
      const res = random(3 * 4 * 3 * 2 * c, 6);
      const out = r.put(res);
      blockInMemory(r, pd, { kind: 'down', x: xa, spatial, out, residual: out, tileRows: 8 });
      const wantDown = referenceBlock(x, spatial, wd, 'down', [3, 4, 3], res);
      expect(maxAbsDiff(r.f32(out, res.length).slice(), wantDown)).toBeLessThan(2e-5);
      r.release(mark);
      freeBlockWeights(r, packed);
      freeBlockWeights(r, pd);
    }
  });
  it("packBlockWeights folds an extra compress bias in (the up block's res_conv bias)", () => {
    const spatial: [number, number, number] = [3, 4, 2];
    const [c, e, cout] = [8, 16, 4];
    const x = random(3 * 4 * 2 * c, 7);
    const wt = weights(3, c, e, cout, 70);
    const extra = Float32Array.from([0.5, -1, 2, 0.25]);
    const plain = invertedBottleneck(rts.one, x, spatial, wt, { kind: 'up' });
    const packed = packBlockWeights(rts.one, wt, extra);
    const mark = rts.one.mark();
    const n = plain.data.length;
    const out = rts.one.alloc(n * 4);
    blockInMemory(rts.one, packed, { kind: 'up', x: rts.one.put(x), spatial, out, residual: 0 });
    const got = rts.one.f32(out, n).slice();
    rts.one.release(mark);
    freeBlockWeights(rts.one, packed);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i] - plain.data[i] - extra[i % cout]));
    expect(worst).toBeLessThan(1e-5);
    expect(() => packBlockWeights(rts.one, wt, new Float32Array(3))).toThrow(/extraBias3 needs 4 values/);
  });
  it('rejects channel counts that are not multiples of 4', () => {
    const wt = weights(3, 6, 12, 6, 40);
    expect(() => invertedBottleneck(rts.one, random(27 * 6, 1), [3, 3, 3], wt, { kind: 'block' })).toThrow(
      /multiples of 4/,
    );
  });
});
