import { describe, expect, it } from 'vitest';
import { maxAbsDiff, random, useKernelRuntimes } from './helpers/kernel-test-utils.js';
import {
  type Shape5,
  channelAffine,
  channelStats,
  createKernelRuntime,
  createKernelRuntimeSync,
  depthwiseConv3d,
  depthwiseConvTranspose3d,
  depthwiseConv3dFilterGrad,
  depthwiseFilterGradReference,
  depthwiseInMemory,
  depthwiseReference,
  gelu,
  geluReference,
  hasRelaxedSimd,
  groupNormPerChannel,
  matmulBias,
  matmulReference,
} from '../src/kernels/index.js';
import { GELU_KERNEL } from '../src/kernels/wasm/gen-gelu.js';

/** Deterministic uniform [-1, 1) values (xorshift), so failures reproduce. */
const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

const rts = useKernelRuntimes();

describe('depthwise 3-D convolution kernels', () => {
  // odd, non-cubic shapes; C = 8 (vector path) and C = 6 (padded to 8 internally)
  const shapes: Shape5[] = [
    [2, 7, 9, 11, 8],
    [1, 5, 13, 10, 6],
    [1, 11, 6, 17, 4],
  ];
  for (const k of [3, 5, 7]) {
    for (const stride of [1, 2] as const) {
      it(`forward k=${k} stride=${stride} matches the reference`, () => {
        shapes.forEach((shape, si) => {
          const c = shape[4];
          const x = random(size(shape), 11 + si);
          const filter = random(k ** 3 * c, 23 + k);
          const bias = random(c, 5);
          const got = depthwiseConv3d(rts.one, { x, shape, filter, k, bias, stride });
          const want = depthwiseReference(x, shape, filter, k, {
            stride,
            pad: k >> 1,
            transposed: false,
            bias,
            outSpatial: got.shape.slice(1, 4),
          });
          expect(got.shape).toEqual(want.shape);
          expect(got.shape[1]).toBe(Math.floor((shape[1] + 2 * (k >> 1) - k) / stride) + 1);
          // sums of k^3 products of values in [-1, 1]: float32 error grows with k^3
          expect(maxAbsDiff(got.data, want.data)).toBeLessThan(2e-6 * k ** 2);
        });
      });
    }
    it(`transposed stride 2 k=${k} matches the reference (output 2n-1)`, () => {
      shapes.forEach((shape, si) => {
        const c = shape[4];
        const x = random(size(shape), 31 + si);
        const filter = random(k ** 3 * c, 41 + k);
        const bias = random(c, 7);
        const got = depthwiseConvTranspose3d(rts.one, { x, shape, filter, k, bias });
        expect(got.shape).toEqual([shape[0], 2 * shape[1] - 1, 2 * shape[2] - 1, 2 * shape[3] - 1, c]);
        const want = depthwiseReference(x, shape, filter, k, {
          stride: 2,
          pad: k >> 1,
          transposed: true,
          bias,
          outSpatial: got.shape.slice(1, 4),
        });
        expect(maxAbsDiff(got.data, want.data)).toBeLessThan(2e-6 * k ** 2);
      });
    });
  }
  // Widths with no interior column at all (a MedNeXt bottleneck of 1 or 2 voxels at a 16^3 or 32^3 patch):
  // the transposed k5/k7 kernels once wrote past the row here.
  for (const k of [3, 5, 7]) {
    it(`transposed stride 2 k=${k} on 1- and 2-voxel volumes matches the reference`, () => {
      const tiny: Shape5[] = [
        [1, 1, 1, 1, 8],
        [1, 2, 1, 2, 4],
        [2, 1, 2, 1, 8],
      ];
      tiny.forEach((shape, si) => {
        const c = shape[4];
        const x = random(size(shape), 61 + si);
        const filter = random(k ** 3 * c, 71 + k);
        const bias = random(c, 9);
        const got = depthwiseConvTranspose3d(rts.one, { x, shape, filter, k, bias });
        const want = depthwiseReference(x, shape, filter, k, {
          stride: 2,
          pad: k >> 1,
          transposed: true,
          bias,
          outSpatial: got.shape.slice(1, 4),
        });
        expect(maxAbsDiff(got.data, want.data)).toBeLessThan(2e-6 * k ** 2);
      });
    });
    it(`transposed stride 2 k=${k} from a 1-voxel volume writes nothing past its output`, () => {
      const rt = rts.one;
      const c = 4;
      const mark = rt.mark();
      try {
        const x = rt.put(random(c, 81), 'f32');
        const filter = rt.put(random(k ** 3 * c, 83), 'f32');
        const bias = rt.put(random(c, 85), 'f32');
        // the output (one voxel, 2n - 1 = 1) followed by a guard band that must stay untouched
        const guard = 64;
        const y = rt.put(new Float32Array(c + guard).fill(12345), 'f32');
        depthwiseInMemory(rt, {
          x,
          y,
          filter,
          bias,
          spatial: [1, 1, 1],
          outSpatial: [1, 1, 1],
          c,
          k,
          stride: 2,
          pad: k >> 1,
          transposed: true,
        });
        expect([...rt.f32(y + c * 4, guard)].every((v) => v === 12345)).toBe(true);
      } finally {
        rt.release(mark);
      }
    });
  }
  for (const k of [3, 5, 7]) {
    for (const stride of [1, 2] as const) {
      it(`filter gradient k=${k} stride=${stride} matches the reference (batch 2, C = 6, 1 and 2 threads)`, () => {
        const shape: Shape5 = [2, 9, 7, 11, 6];
        const p = k >> 1;
        const out = shape.slice(1, 4).map((n) => Math.floor((n + 2 * p - k) / stride) + 1);
        const dyShape: Shape5 = [2, out[0], out[1], out[2], 6];
        const x = random(size(shape), 50 + k);
        const dy = random(size(dyShape), 60 + stride);
        const want = depthwiseFilterGradReference(x, shape, dy, dyShape, k, stride, p);
        const got = depthwiseConv3dFilterGrad(rts.one, { x, shape, dy, dyShape, k, stride });
        // sums of up to ~900 products in [-1, 1]: float32 row sums, float64 across rows
        expect(maxAbsDiff(got, want)).toBeLessThan(2e-5);
        const got2 = depthwiseConv3dFilterGrad(rts.two, { x, shape, dy, dyShape, k, stride });
        expect(maxAbsDiff(got2, want)).toBeLessThan(2e-5);
      });
    }
  }
  it('honours an explicit padding and an output shape with output padding', () => {
    const shape: Shape5 = [1, 6, 7, 9, 4];
    const x = random(size(shape), 3);
    const filter = random(27 * 4, 4);
    const fwd = depthwiseConv3d(rts.one, { x, shape, filter, k: 3, pad: 0, stride: 1 });
    expect(fwd.shape).toEqual([1, 4, 5, 7, 4]);
    const ref = depthwiseReference(x, shape, filter, 3, {
      stride: 1,
      pad: 0,
      transposed: false,
      outSpatial: [4, 5, 7],
    });
    expect(maxAbsDiff(fwd.data, ref.data)).toBeLessThan(1e-5);
    const up = depthwiseConvTranspose3d(rts.one, { x, shape, filter, k: 3, outputShape: [12, 14, 18] });
    const upRef = depthwiseReference(x, shape, filter, 3, {
      stride: 2,
      pad: 1,
      transposed: true,
      outSpatial: [12, 14, 18],
    });
    expect(maxAbsDiff(up.data, upRef.data)).toBeLessThan(1e-5);
  });
  it('rejects bad arguments with a message naming the argument', () => {
    const shape: Shape5 = [1, 3, 3, 3, 4];
    const x = random(size(shape), 1);
    expect(() => depthwiseConv3d(rts.one, { x, shape, filter: random(10, 1), k: 3 })).toThrow(/filter has 10 values/);
    expect(() => depthwiseConv3d(rts.one, { x, shape, filter: random(27 * 4, 1), k: 4 })).toThrow(
      /k must be 3, 5 or 7/,
    );
    expect(() => depthwiseConv3d(rts.one, { x: x.subarray(1), shape, filter: random(108, 1), k: 3 })).toThrow(/x has/);
  });
});

describe('pointwise GEMM kernel', () => {
  const cases: [number, number, number][] = [
    [37, 19, 45], // every tail: rows, K unroll, partial column panel
    [129, 32, 64],
    [50, 64, 20],
    [3, 5, 3],
  ];
  for (const [m, k, n] of cases) {
    it(`[${m},${k}]x[${k},${n}] + bias matches the reference`, () => {
      const x = random(m * k, m);
      const w = random(k * n, k);
      const bias = random(n, n);
      const got = matmulBias(rts.one, x, m, k, w, n, { bias });
      expect(maxAbsDiff(got, matmulReference(x, m, k, w, n, bias))).toBeLessThan(1e-6 * k);
    });
  }
  it('fuses GELU (odd N, every tail) or a residual add into the epilogue', () => {
    const [m, k, n] = [41, 24, 37];
    const x = random(m * k, 1);
    const w = random(k * n, 2);
    const bias = random(n, 3);
    const residual = random(m * n, 4);
    const lin = matmulReference(x, m, k, w, n, bias);
    const g = matmulBias(rts.one, x, m, k, w, n, { bias, gelu: true });
    expect(maxAbsDiff(g, lin.map(geluReference))).toBeLessThan(2e-5);
    const r = matmulBias(rts.one, x, m, k, w, n, { bias, residual });
    expect(
      maxAbsDiff(
        r,
        lin.map((v, i) => v + residual[i]),
      ),
    ).toBeLessThan(2e-5);
    expect(() => matmulBias(rts.one, x, m, k, w, n, { gelu: true, residual })).toThrow(/either gelu or residual/);
  });
});

describe('exact GELU kernel', () => {
  it('matches erf-GELU to 1e-6 relative from -12 to 8 (odd length)', () => {
    const n = 20001;
    const x = new Float32Array(n).map((_, i) => -12 + (20 * i) / (n - 1));
    const got = gelu(rts.one, x);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const want = geluReference(x[i]);
      worst = Math.max(worst, Math.abs(got[i] - want) / Math.max(Math.abs(want), 1e-30));
    }
    expect(worst).toBeLessThan(1e-6);
    expect(got[Math.round((n - 1) * 0.6)]).toBe(0); // x = 0 exactly
  });
});

describe('GroupNorm (one group per channel) kernels', () => {
  it('statistics and apply match a float64 reference, C not a multiple of 4', () => {
    const m = 1000;
    const c = 7;
    const x = random(m * c, 9).map((v, i) => v * (1 + (i % c)) + 100 * ((i % c) - 3)); // large offsets
    const stats = channelStats(rts.one, x, m, c);
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      for (let r = 0; r < m; r++) s += x[r * c + ch];
      const mean = s / m;
      let q = 0;
      for (let r = 0; r < m; r++) q += (x[r * c + ch] - mean) ** 2;
      // float32 partial sums over 64 rows of (x - x0): error relative to the spread, not to the offset
      expect(Math.abs(stats.mean[ch] - mean)).toBeLessThan(1e-7 * Math.sqrt(q / m));
      expect(Math.abs(stats.variance[ch] - q / m) / (q / m)).toBeLessThan(1e-6);
    }
    const gamma = random(c, 2);
    const beta = random(c, 3);
    const y = groupNormPerChannel(rts.one, x, m, c, gamma, beta);
    let worst = 0;
    let bound = 0; // float32 rounding of an x-sized value, carried through the scale
    for (let r = 0; r < m; r++)
      for (let ch = 0; ch < c; ch++) {
        bound = Math.max(
          bound,
          1.2e-7 * Math.abs(x[r * c + ch]) * Math.abs(gamma[ch] / Math.sqrt(stats.variance[ch] + 1e-5)),
        );
        const want = ((x[r * c + ch] - stats.mean[ch]) / Math.sqrt(stats.variance[ch] + 1e-5)) * gamma[ch] + beta[ch];
        worst = Math.max(worst, Math.abs(y[r * c + ch] - want));
      }
    expect(worst).toBeLessThan(bound + 1e-6);
    const center = random(c, 4);
    const scale = random(c, 5);
    const shift = random(c, 6);
    const aff = channelAffine(rts.one, x, m, c, { center, scale, shift });
    const i = 5 * c + 2;
    expect(Math.abs(aff[i] - ((x[i] - center[2]) * scale[2] + shift[2]))).toBeLessThan(1e-4);
  });
});

describe('two threads on one shared memory', () => {
  it('runs in workers and gives bit-identical results to one thread', () => {
    expect(rts.two.threads).toBe(2);
    const shape: Shape5 = [1, 9, 8, 7, 8];
    const x = random(size(shape), 77);
    const filter = random(27 * 8, 78);
    const a = depthwiseConv3d(rts.one, { x, shape, filter, k: 3 });
    const b = depthwiseConv3d(rts.two, { x, shape, filter, k: 3 });
    expect(maxAbsDiff(a.data, b.data)).toBe(0);
    const up1 = depthwiseConvTranspose3d(rts.one, { x, shape, filter, k: 3 });
    const up2 = depthwiseConvTranspose3d(rts.two, { x, shape, filter, k: 3 });
    expect(maxAbsDiff(up1.data, up2.data)).toBe(0);
    const [m, k, n] = [333, 32, 40];
    const xm = random(m * k, 1);
    const w = random(k * n, 2);
    expect(
      maxAbsDiff(
        matmulBias(rts.one, xm, m, k, w, n, { gelu: true }),
        matmulBias(rts.two, xm, m, k, w, n, { gelu: true }),
      ),
    ).toBe(0);
    const s1 = channelStats(rts.one, xm, m, k);
    const s2 = channelStats(rts.two, xm, m, k);
    expect(maxAbsDiff(s1.variance, s2.variance)).toBeLessThan(1e-12);
    expect(maxAbsDiff(gelu(rts.one, xm), gelu(rts.two, xm))).toBe(0);
  });
});

describe('runtime robustness', () => {
  it('reports a trap in a worker as an error and stays usable', () => {
    // an address past the end of memory traps (out of bounds) on both threads
    const bad = rts.two.memory.buffer.byteLength - 64;
    expect(() => rts.two.run(GELU_KERNEL, { x: bad }, { end: 1 << 16, grain: 16 })).toThrow(
      expect.objectContaining({ code: 'KERNEL_FAILED' }) as Error,
    );
    const x = random(1000, 3);
    expect(maxAbsDiff(gelu(rts.two, x), gelu(rts.one, x))).toBe(0);
  });
  it('falls back to one thread, saying why, without shared memory; rejects bad thread counts', async () => {
    const g = globalThis as { SharedArrayBuffer?: unknown };
    const saved = g.SharedArrayBuffer;
    delete g.SharedArrayBuffer;
    try {
      const single = await createKernelRuntime({ threads: 2 });
      expect(single.threads).toBe(1);
      expect(single.fallbackReason).toMatch(/SharedArrayBuffer is unavailable/);
      expect(maxAbsDiff(gelu(single, random(100, 1)), gelu(rts.one, random(100, 1)))).toBe(0);
    } finally {
      g.SharedArrayBuffer = saved;
    }
    await expect(createKernelRuntime({ threads: 0 })).rejects.toThrow(/positive integer/);
    await expect(createKernelRuntime({ threads: 1.5 })).rejects.toThrow(/positive integer/);
  });
  it('grows memory on demand and keeps earlier data', () => {
    const local = createKernelRuntimeSync({ initialMiB: 1 });
    const before = local.memory.buffer.byteLength;
    const a = local.put(random(1000, 4));
    const big = local.alloc(8 * 2 ** 20);
    expect(local.memory.buffer.byteLength).toBeGreaterThan(before);
    expect(big).toBeGreaterThan(a);
    expect(maxAbsDiff(local.f32(a, 1000), random(1000, 4))).toBe(0);
  });
});

describe('relaxed-SIMD FMA variant', () => {
  // Node 22+ and current browsers validate relaxed SIMD; Node 20 only with --experimental-wasm-relaxed-simd
  it.skipIf(!hasRelaxedSimd())('gives the reference results with fused multiply-adds', () => {
    const fmaRt = createKernelRuntimeSync({ relaxedSimd: true });
    expect(fmaRt.relaxedSimd).toBe(true);
    const shape: Shape5 = [1, 7, 9, 11, 8];
    const x = random(size(shape), 5);
    const filter = random(27 * 8, 6);
    const got = depthwiseConv3d(fmaRt, { x, shape, filter, k: 3 });
    const want = depthwiseReference(x, shape, filter, 3, {
      stride: 1,
      pad: 1,
      transposed: false,
      outSpatial: [7, 9, 11],
    });
    expect(maxAbsDiff(got.data, want.data)).toBeLessThan(2e-5);
    const [m, k, n] = [37, 19, 45];
    const a = random(m * k, 1);
    const w = random(k * n, 2);
    expect(maxAbsDiff(matmulBias(fmaRt, a, m, k, w, n), matmulReference(a, m, k, w, n))).toBeLessThan(2e-5);
    const g = new Float32Array(2001).map((_, i) => -12 + i / 100);
    const gg = gelu(fmaRt, g);
    let worst = 0;
    for (let i = 0; i < g.length; i++) {
      const r = geluReference(g[i]);
      worst = Math.max(worst, Math.abs(gg[i] - r) / Math.max(Math.abs(r), 1e-30));
    }
    expect(worst).toBeLessThan(1e-6);
  });
  it('is refused with a clear error where the runtime lacks it', () => {
    if (hasRelaxedSimd()) return;
    expect(() => createKernelRuntimeSync({ relaxedSimd: true })).toThrow(/relaxedSimd requested but not supported/);
  });
});
