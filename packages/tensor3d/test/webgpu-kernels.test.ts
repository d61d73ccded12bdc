/**
 * Every WGSL kernel of tensor3d/webgpu against a float64 CPU reference, on odd, non-cubic shapes (tiles and
 * workgroups never divide them evenly). Tolerances are max-abs, relative to the largest reference value:
 * float32 sums of at most a few hundred terms stay within 2e-5 of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GpuRuntime,
  add,
  bottleneckTiles,
  bottleneckTiling,
  depthwiseConv3d,
  depthwiseOutputSize,
  frontPaddedAdd,
  grnScale,
  groupNormApply,
  groupNormStats,
  invertedBottleneck,
  pointwiseConv3d,
  sigmoid,
  isSoftwareAdapter,
  packParams,
  packBottleneckVectors,
  invertedBottleneckKernel,
  frontPaddedAddKernel,
  depthwiseConv3dKernel,
  channelAffine,
  channelSquareSums,
  channelsPerGroup,
  copyBlock,
  gelu,
  GpuCapacityError,
  channelsLastToFirst,
} from '../src/webgpu/index.js';
import { depthwiseReference, geluReference, matmulReference } from '../src/kernels/reference.js';
import { randomValues } from './helpers/depthwise-oracle.js';
import { WEBGPU_DECLARED_ABSENT, testGpuDevice } from './helpers/webgpu-device.js';

type V3 = [number, number, number];
const REL_TOL = 2e-5;

function expectClose(actual: Float32Array, expected: ArrayLike<number>, what: string, tol = REL_TOL): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  expect(scale, `${what}: reference is all zeros, the check would be vacuous`).toBeGreaterThan(0);
  expect(diff, `${what}: max |diff| ${diff} vs max |ref| ${scale}`).toBeLessThanOrEqual(tol * Math.max(1, scale));
}

/** [C, V] → [V, C] (the CPU references are channels-last). */
function toChannelsLast(x: ArrayLike<number>, c: number, v: number): Float32Array {
  const out = new Float32Array(c * v);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < v; i++) out[i * c + ch] = x[ch * v + i];
  return out;
}
const toChannelsFirst = (x: ArrayLike<number>, c: number, v: number): Float32Array => {
  const out = new Float32Array(c * v);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < v; i++) out[ch * v + i] = x[i * c + ch];
  return out;
};
const vol = (s: readonly number[]): number => s[0] * s[1] * s[2];

/** Per-channel mean and 1/sqrt(var + 1e-5), float64. */
function statsReference(x: Float32Array, c: number, v: number): Float64Array {
  const out = new Float64Array(2 * c);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let i = 0; i < v; i++) s += x[ch * v + i];
    const mean = s / v;
    let q = 0;
    for (let i = 0; i < v; i++) q += (x[ch * v + i] - mean) ** 2;
    out[2 * ch] = mean;
    out[2 * ch + 1] = 1 / Math.sqrt(q / v + 1e-5);
  }
  return out;
}

/** The bottleneck from its definition: norm → W2 → GELU → [GRN] → W3 (+ residual), channels-first, float64. */
function bottleneckReference(o: {
  x: Float32Array;
  c: number;
  e: number;
  co: number;
  v: number;
  gamma: Float32Array;
  beta: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
  w3: Float32Array;
  b3: Float32Array;
  residual?: Float32Array;
  grn?: { gamma: Float32Array; beta: Float32Array };
}): Float32Array {
  const st = statsReference(o.x, o.c, o.v);
  const xn = new Float32Array(o.c * o.v);
  for (let ch = 0; ch < o.c; ch++)
    for (let i = 0; i < o.v; i++)
      xn[i * o.c + ch] = (o.x[ch * o.v + i] - st[2 * ch]) * st[2 * ch + 1] * o.gamma[ch] + o.beta[ch];
  // matmulReference takes W as [K, N]: transpose the PyTorch [E, C] weight.
  const w2t = toChannelsLast(o.w2, o.e, o.c);
  const h = matmulReference(xn, o.v, o.c, w2t, o.e, o.b2).map(geluReference);
  if (o.grn) {
    const g = new Float64Array(o.e);
    for (let i = 0; i < o.v; i++) for (let e = 0; e < o.e; e++) g[e] += h[i * o.e + e] ** 2;
    let mean = 0;
    for (let e = 0; e < o.e; e++) mean += (g[e] = Math.sqrt(g[e])) / o.e;
    for (let i = 0; i < o.v; i++)
      for (let e = 0; e < o.e; e++) {
        const hv = h[i * o.e + e];
        h[i * o.e + e] = o.grn.gamma[e] * hv * (g[e] / (mean + 1e-6)) + o.grn.beta[e] + hv;
      }
  }
  const w3t = toChannelsLast(o.w3, o.co, o.e);
  const y = toChannelsFirst(matmulReference(h, o.v, o.e, w3t, o.co, o.b3), o.co, o.v);
  if (o.residual) for (let i = 0; i < y.length; i++) y[i] += o.residual[i];
  return y;
}

describe.skipIf(WEBGPU_DECLARED_ABSENT)('WGSL kernels against the CPU references (WebGPU)', () => {
  let rt: GpuRuntime;
  let seed = 100;
  const rand = (n: number, scale = 1): Float32Array => randomValues(n, seed++).map((v) => v * scale);

  beforeAll(async () => {
    const { device } = await testGpuDevice();
    rt = new GpuRuntime(device);
  });
  afterAll(() => rt?.dispose());

  it('acquires a device and reports its adapter', async () => {
    const { adapter } = await testGpuDevice();
    expect(adapter.description.length).toBeGreaterThan(0);
    expect(adapter.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(isSoftwareAdapter({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(true);
    expect(isSoftwareAdapter({ description: 'NVIDIA H100 80GB HBM3' })).toBe(false);
  });

  it('packs parameters by their declared types and rejects bad values', () => {
    const decl = {
      n: { type: 'u32' as const, doc: '' },
      s: { type: 'i32' as const, doc: '' },
      f: { type: 'f32' as const, doc: '' },
    };
    const view = new DataView(packParams(decl, { n: 7, s: -2, f: 0.5 }));
    expect(view.byteLength).toBe(16);
    expect([view.getUint32(0, true), view.getInt32(4, true), view.getFloat32(8, true)]).toEqual([7, -2, 0.5]);
    expect(() => packParams(decl, { n: -1, s: 0, f: 0 })).toThrow(/'n' = -1 is not a u32/);
  });

  const shape: V3 = [7, 9, 11];
  const cases: Array<{ k: number; stride: 1 | 2; transposed: boolean; input: V3 }> = [
    { k: 3, stride: 1, transposed: false, input: shape },
    { k: 5, stride: 1, transposed: false, input: shape },
    { k: 7, stride: 1, transposed: false, input: shape },
    { k: 3, stride: 2, transposed: false, input: shape },
    { k: 5, stride: 2, transposed: false, input: [8, 6, 10] },
    { k: 3, stride: 2, transposed: true, input: [4, 5, 3] },
    { k: 5, stride: 2, transposed: true, input: [3, 4, 5] },
    { k: 7, stride: 2, transposed: true, input: [4, 3, 2] },
  ];
  it.each(cases)('depthwise conv k$k stride $stride transposed $transposed on $input', async (cs) => {
    const c = 5;
    const x = rand(c * vol(cs.input));
    const f = rand(c * cs.k ** 3, 0.5);
    const b = rand(c);
    const outSize = depthwiseOutputSize(cs.input, cs.stride, cs.transposed);
    const y = rt.tensor(c * vol(outSize), 'y');
    depthwiseConv3d(rt, {
      input: rt.upload(x, 'x'),
      filter: rt.upload(f, 'f'),
      bias: rt.upload(b, 'b'),
      output: y,
      channels: c,
      inSize: cs.input,
      kernel: cs.k,
      stride: cs.stride,
      transposed: cs.transposed,
    });
    const got = await rt.read(y);
    // CPU reference: channels-last, filter [k^3, C].
    const ref = depthwiseReference(
      toChannelsLast(x, c, vol(cs.input)),
      [1, ...cs.input, c],
      toChannelsLast(f, c, cs.k ** 3),
      cs.k,
      { stride: cs.stride, pad: cs.k >> 1, transposed: cs.transposed, bias: b, outSpatial: outSize },
    );
    expect(outSize).toEqual(
      cs.transposed ? cs.input.map((n) => 2 * n - 1) : cs.input.map((n) => Math.ceil(n / cs.stride)),
    );
    expectClose(got, toChannelsFirst(ref.data, c, vol(outSize)), `k${cs.k} s${cs.stride} t${cs.transposed}`);
  });

  it.each([undefined, 100, 1])(
    'GroupNorm statistics in chunks of %s voxels merged per channel',
    async (chunkVoxels) => {
      const c = 3;
      const v = vol(shape);
      // A different mean per region of the volume, so chunks differ and the merge matters.
      const x = rand(c * v).map((t, i) => 20 * Math.floor((i % v) / 250) + 40 + 2 * t);
      const stats = rt.tensor(2 * c, 'stats');
      groupNormStats(rt, { input: rt.upload(x, 'x'), stats, channels: c, voxels: v, chunkVoxels });
      const got = await rt.read(stats);
      const st = statsReference(x, c, v);
      expectClose(
        got.filter((_, i) => i % 2 === 0),
        st.filter((_, i) => i % 2 === 0),
        'means',
        1e-6,
      );
      expectClose(
        got.filter((_, i) => i % 2 === 1),
        st.filter((_, i) => i % 2 === 1),
        'rstd',
        1e-4,
      );
    },
  );

  it('GroupNorm statistics and apply (values with a large mean, so a one-pass variance would cancel)', async () => {
    const c = 6;
    const v = vol(shape);
    const x = rand(c * v).map((t, i) => 50 + 3 * t + (i % 7) * 0.01);
    const gamma = rand(c);
    const beta = rand(c);
    const xt = rt.upload(x, 'x');
    const stats = rt.tensor(2 * c, 'stats');
    const y = rt.tensor(c * v, 'y');
    groupNormStats(rt, { input: xt, stats, channels: c, voxels: v });
    groupNormApply(rt, {
      input: xt,
      stats,
      gamma: rt.upload(gamma, 'g'),
      beta: rt.upload(beta, 'b'),
      output: y,
      channels: c,
      voxels: v,
    });
    const [gotStats, gotY] = await rt.finish([stats, y]);
    const st = statsReference(x, c, v);
    expectClose(
      gotStats.filter((_, i) => i % 2 === 0),
      st.filter((_, i) => i % 2 === 0),
      'means',
      1e-6,
    );
    expectClose(
      gotStats.filter((_, i) => i % 2 === 1),
      st.filter((_, i) => i % 2 === 1),
      'rstd',
      1e-4,
    );
    const ref = new Float64Array(c * v);
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < v; i++)
        ref[ch * v + i] = (x[ch * v + i] - st[2 * ch]) * st[2 * ch + 1] * gamma[ch] + beta[ch];
    expectClose(gotY, ref, 'normalised', 1e-4);
  });

  const bottlenecks = [
    { c: 6, e: 18, co: 6, size: [5, 7, 9] as V3, residual: true },
    { c: 8, e: 16, co: 16, size: [3, 5, 4] as V3, residual: false },
    { c: 96, e: 200, co: 40, size: [3, 5, 7] as V3, residual: true },
    { c: 300, e: 600, co: 150, size: [2, 3, 5] as V3, residual: true },
  ];
  it.each(bottlenecks)('fused inverted bottleneck C$c E$e CO$co on $size (residual $residual)', async (b) => {
    const v = vol(b.size);
    const o = {
      x: rand(b.c * v, 2),
      c: b.c,
      e: b.e,
      co: b.co,
      v,
      gamma: rand(b.c),
      beta: rand(b.c),
      w2: rand(b.e * b.c, 1 / Math.sqrt(b.c)),
      b2: rand(b.e),
      w3: rand(b.co * b.e, 1 / Math.sqrt(b.e)),
      b3: rand(b.co),
      residual: b.residual ? rand(b.co * v) : undefined,
    };
    const xt = rt.upload(o.x, 'x');
    const stats = rt.tensor(2 * b.c, 'stats');
    const y = rt.tensor(b.co * v, 'y');
    groupNormStats(rt, { input: xt, stats, channels: b.c, voxels: v });
    invertedBottleneck(rt, {
      input: xt,
      stats,
      vectors: rt.upload(packBottleneckVectors(o), 'vectors'),
      w2: rt.upload(o.w2, 'w2'),
      w3: rt.upload(o.w3, 'w3'),
      residual: o.residual ? rt.upload(o.residual, 'res') : undefined,
      output: y,
      channels: b.c,
      expanded: b.e,
      outChannels: b.co,
      voxels: v,
    });
    const tiling = bottleneckTiling({ channels: b.c, expanded: b.e, outChannels: b.co });
    // The shapes are chosen so the voxel count is not a multiple of the tile.
    expect(v % tiling.tileVoxels).not.toBe(0);
    expectClose(await rt.read(y), bottleneckReference(o), `bottleneck C${b.c}`);
  });

  it('GRN: bottleneck sums of squares → grnScale → bottleneck with the GRN affine', async () => {
    const c = 6;
    const e = 18;
    const size: V3 = [5, 4, 7];
    const v = vol(size);
    const o = {
      x: rand(c * v, 2),
      c,
      e,
      co: c,
      v,
      gamma: rand(c),
      beta: rand(c),
      w2: rand(e * c, 0.5),
      b2: rand(e),
      w3: rand(c * e, 0.3),
      b3: rand(c),
      residual: rand(c * v),
      grn: { gamma: rand(e), beta: rand(e) },
    };
    const t = (a: Float32Array, n: string) => rt.upload(a, n);
    const xt = t(o.x, 'x');
    const stats = rt.tensor(2 * c, 'stats');
    const common = {
      input: xt,
      stats,
      vectors: t(packBottleneckVectors(o), 'vectors'),
      w2: t(o.w2, 'w2'),
      channels: c,
      expanded: e,
      outChannels: c,
      voxels: v,
    };
    const sums = rt.tensor(bottleneckTiles(common, v) * e, 'sums');
    const affine = rt.tensor(2 * e, 'affine');
    const y = rt.tensor(c * v, 'y');
    groupNormStats(rt, { input: xt, stats, channels: c, voxels: v });
    invertedBottleneck(rt, { ...common, output: sums, grn: 'stats' });
    grnScale(rt, { sums, gamma: t(o.grn.gamma, 'gg'), beta: t(o.grn.beta, 'gb'), affine, channels: e });
    invertedBottleneck(rt, {
      ...common,
      w3: t(o.w3, 'w3'),
      residual: t(o.residual, 'r'),
      grnAffine: affine,
      output: y,
      grn: 'apply',
    });
    expectClose(await rt.read(y), bottleneckReference(o), 'GRN bottleneck');
  });

  it.each([1, 2])('pointwise conv (channel GEMM) with input stride %i', async (stride) => {
    const ci = 7;
    const co = 5;
    const inSize: V3 = [6, 9, 7];
    const outSize = inSize.map((n) => Math.ceil(n / stride)) as V3;
    const x = rand(ci * vol(inSize));
    const w = rand(co * ci);
    const b = rand(co);
    const y = rt.tensor(co * vol(outSize), 'y');
    pointwiseConv3d(rt, {
      input: rt.upload(x, 'x'),
      weight: rt.upload(w, 'w'),
      bias: rt.upload(b, 'b'),
      output: y,
      inChannels: ci,
      outChannels: co,
      inSize,
      stride,
    });
    // Sample the input on the stride grid, then GEMM on the CPU.
    const sampled = new Float32Array(ci * vol(outSize));
    for (let c = 0; c < ci; c++)
      for (let d = 0; d < outSize[0]; d++)
        for (let h = 0; h < outSize[1]; h++)
          for (let ww = 0; ww < outSize[2]; ww++)
            sampled[((c * outSize[0] + d) * outSize[1] + h) * outSize[2] + ww] =
              x[((c * inSize[0] + d * stride) * inSize[1] + h * stride) * inSize[2] + ww * stride];
    const ref = matmulReference(
      toChannelsLast(sampled, ci, vol(outSize)),
      vol(outSize),
      ci,
      toChannelsLast(w, co, ci),
      co,
      b,
    );
    expectClose(await rt.read(y), toChannelsFirst(ref, co, vol(outSize)), `pointwise stride ${stride}`);
  });

  it('grouped pointwise conv: channel groups, weight blocks by copyBlock, accumulation over input groups', async () => {
    // x [7, V] held as groups of 3 channels (3 + 3 + 1), y [5, V] as groups of 2 (2 + 2 + 1): one dispatch per
    // (input group, output group), the first input group writing bias + its share, the others accumulating.
    const ci = 7;
    const co = 5;
    const size: V3 = [5, 4, 7];
    const v = vol(size);
    const x = rand(ci * v);
    const w = rand(co * ci);
    const b = rand(co);
    const wt = rt.upload(w, 'w');
    const bt = rt.upload(b, 'b');
    const groups = (n: number, g: number): Array<[number, number]> =>
      Array.from({ length: Math.ceil(n / g) }, (_, i) => [i * g, Math.min(g, n - i * g)]);
    const inGroups = groups(ci, 3);
    const outGroups = groups(co, 2);
    const xs = inGroups.map(([first, count]) => rt.upload(x.subarray(first * v, (first + count) * v), `x${first}`));
    const ys = outGroups.map(([first, count]) => rt.tensor(count * v, `y${first}`));
    outGroups.forEach(([o0, oc], j) => {
      const bias = rt.tensor(oc, 'bias block');
      copyBlock(rt, { src: bt, dst: bias, rows: 1, cols: oc, srcOffset: o0 });
      inGroups.forEach(([i0, ic], k) => {
        const weight = rt.tensor(oc * ic, 'weight block');
        copyBlock(rt, { src: wt, dst: weight, rows: oc, cols: ic, srcOffset: o0 * ci + i0, srcRowLength: ci });
        pointwiseConv3d(rt, {
          input: xs[k],
          weight,
          bias: k === 0 ? bias : undefined,
          accumulate: k > 0,
          output: ys[j],
          inChannels: ic,
          outChannels: oc,
          inSize: size,
        });
      });
    });
    const parts = await rt.finish(ys);
    const y = new Float32Array(co * v);
    outGroups.forEach(([first], j) => y.set(parts[j], first * v));
    const ref = matmulReference(toChannelsLast(x, ci, v), v, ci, toChannelsLast(w, co, ci), co, b);
    expectClose(y, toChannelsFirst(ref, co, v), 'grouped pointwise');
    expect(() =>
      pointwiseConv3d(rt, {
        input: xs[0],
        weight: rt.upload(rand(6), 'w'),
        output: ys[0],
        inChannels: 3,
        outChannels: 2,
        inSize: size,
      }),
    ).toThrow(/bias \[2\] is required/);
  });

  it('split-path helpers: GELU in place, per-group sums of squares, per-channel affine', async () => {
    const c = 5;
    const v = 311;
    const x = rand(c * v, 3);
    const xt = rt.upload(x, 'x');
    gelu(rt, xt);
    const g = Array.from(x, (value) => geluReference(value));
    expectClose(await rt.read(xt), g, 'gelu');
    // Channels [0, 2) and [2, 5) as two groups writing one sums vector.
    const lo = rt.upload(x.subarray(0, 2 * v), 'lo');
    const hi = rt.upload(x.subarray(2 * v), 'hi');
    const sums = rt.tensor(c, 'sums');
    channelSquareSums(rt, { input: lo, sums, channels: 2, voxels: v, first: 0 });
    channelSquareSums(rt, { input: hi, sums, channels: 3, voxels: v, first: 2 });
    const expected = Array.from({ length: c }, (_, ch) => {
      let q = 0;
      for (let i = 0; i < v; i++) q += x[ch * v + i] ** 2;
      return q;
    });
    expectClose(await rt.read(sums), expected, 'channel sums of squares');
    const affine = rand(2 * c);
    channelAffine(rt, { input: hi, affine: rt.upload(affine, 'affine'), channels: 3, voxels: v, first: 2 });
    const scaled = Array.from(x.subarray(2 * v), (value, i) => {
      const ch = 2 + Math.floor(i / v);
      return value * affine[2 * ch] + affine[2 * ch + 1];
    });
    expectClose(await rt.read(hi), scaled, 'channel affine');
  });

  it('a binding limit below the device’s: tensors above it are refused, channel groups fit under it', async () => {
    const small = new GpuRuntime(rt.device, { maxBindingBytes: 4096 });
    try {
      expect(small.maxBindingBytes).toBe(4096);
      expect(() => small.tensor(1025, 'big')).toThrow(GpuCapacityError);
      expect(small.tensor(1024, 'fits').length).toBe(1024);
      expect(channelsPerGroup(10, 100, small.maxBindingBytes)).toBe(10);
      expect(channelsPerGroup(10, 300, small.maxBindingBytes)).toBe(3);
      expect(() => channelsPerGroup(10, 2000, small.maxBindingBytes)).toThrow(/one channel of 2000 voxels/);
      expect(new GpuRuntime(rt.device, { maxBindingBytes: 2 ** 40 }).maxBindingBytes).toBe(
        rt.device.limits.maxStorageBufferBindingSize,
      );
    } finally {
      small.dispose();
    }
  });

  it('residual add and sigmoid (stable for large |x|)', async () => {
    const a = rand(1001, 30);
    const b = rand(1001, 30);
    const sum = rt.tensor(1001, 'sum');
    const prob = rt.tensor(1001, 'prob');
    add(rt, { a: rt.upload(a, 'a'), b: rt.upload(b, 'b'), output: sum });
    sigmoid(rt, { input: sum, output: prob });
    const [gotSum, gotProb] = await rt.finish([sum, prob]);
    expectClose(
      gotSum,
      a.map((v, i) => v + b[i]),
      'add',
      1e-7,
    );
    const refProb = Float64Array.from(gotSum, (s) => 1 / (1 + Math.exp(-s)));
    expectClose(gotProb, refProb, 'sigmoid', 1e-6);
    expect(gotProb.every((p) => Number.isFinite(p) && p >= 0 && p <= 1)).toBe(true);
  });

  it.each([true, false])('front-padded add of an upsampled tensor (strided source %s)', async (withStrided) => {
    const c = 3;
    const size: V3 = [6, 4, 8];
    const n = size.map((s) => s / 2) as V3;
    const inner = size.map((s) => s - 1) as V3;
    const target = rand(c * vol(size));
    const shifted = rand(c * vol(inner));
    const strided = rand(c * vol(n));
    const fill = rand(c);
    const tt = rt.upload(target, 't');
    frontPaddedAdd(rt, {
      target: tt,
      shifted: rt.upload(shifted, 's'),
      strided: withStrided ? rt.upload(strided, 'st') : undefined,
      fill: withStrided ? rt.upload(fill, 'f') : undefined,
      channels: c,
      size,
    });
    // Reference: pad `shifted` at the front of every axis; the strided term lands at 2i+1 (i.e. odd indices).
    const ref = Float64Array.from(target);
    for (let ch = 0; ch < c; ch++)
      for (let d = 1; d < size[0]; d++)
        for (let h = 1; h < size[1]; h++)
          for (let w = 1; w < size[2]; w++) {
            const o = ((ch * size[0] + d) * size[1] + h) * size[2] + w;
            let v = shifted[((ch * inner[0] + d - 1) * inner[1] + h - 1) * inner[2] + w - 1];
            if (withStrided) {
              v +=
                d % 2 === 1 && h % 2 === 1 && w % 2 === 1
                  ? strided[((ch * n[0] + (d - 1) / 2) * n[1] + (h - 1) / 2) * n[2] + (w - 1) / 2]
                  : fill[ch];
            }
            ref[o] += v;
          }
    expectClose(await rt.read(tt), ref, 'front-padded add', 1e-6);
  });

  it('channels-last → channels-first: whole batch, a channel range, nearest resampling — every element exact', async () => {
    const batch = 2;
    const inSize: V3 = [5, 3, 7];
    const channels = 3;
    // Distinct values: a wrong source index cannot go unnoticed.
    const input = Float32Array.from({ length: batch * vol(inSize) * channels }, (_, i) => i + 0.25);
    const at = (n: number, d: number, h: number, w: number, c: number): number =>
      input[(((n * inSize[0] + d) * inSize[1] + h) * inSize[2] + w) * channels + c];
    /** The host gather: [N, C', d, h, w] from index tables per axis. */
    const reference = (first: number, count: number, iz: number[], iy: number[], ix: number[]): number[] => {
      const out: number[] = [];
      for (let n = 0; n < batch; n++)
        for (let c = first; c < first + count; c++)
          for (const d of iz) for (const h of iy) for (const w of ix) out.push(at(n, d, h, w, c));
      return out;
    };
    const range = (k: number): number[] => Array.from({ length: k }, (_, i) => i);
    const x = rt.upload(input, 'channels-last');
    const whole = rt.tensor(input.length, 'channels-first');
    channelsLastToFirst(rt, { input: x, output: whole, batch, inSize, channels });
    const part = rt.tensor(batch * vol(inSize), 'channel 1');
    channelsLastToFirst(rt, { input: x, output: part, batch, inSize, channels, firstChannel: 1, outChannels: 1 });
    const [iz, iy, ix] = [
      [0, 2, 4],
      [2, 0],
      [6, 1, 3, 3],
    ];
    const table = rt.upload(Float32Array.from([...iz, ...iy, ...ix]), 'indices');
    const outSize: V3 = [iz.length, iy.length, ix.length];
    const resampled = rt.tensor(batch * 2 * vol(outSize), 'resampled');
    channelsLastToFirst(rt, {
      input: x,
      output: resampled,
      batch,
      inSize,
      channels,
      firstChannel: 1,
      outChannels: 2,
      indices: { table, outSize },
    });
    const [gotWhole, gotPart, gotResampled] = await rt.finish([whole, part, resampled]);
    expect(Array.from(gotWhole)).toEqual(reference(0, 3, range(5), range(3), range(7)));
    expect(Array.from(gotPart)).toEqual(reference(1, 1, range(5), range(3), range(7)));
    expect(Array.from(gotResampled)).toEqual(reference(1, 2, iz, iy, ix));
    expect(() =>
      channelsLastToFirst(rt, { input: x, output: part, batch, inSize, channels, firstChannel: 2, outChannels: 2 }),
    ).toThrow(/channels 2..3 of an input with 3/);
    expect(() => channelsLastToFirst(rt, { input: part, output: whole, batch, inSize, channels })).toThrow(
      /input 'channel 1' has 210 elements, \[2, 5, 3, 7, 3\] needs 630/,
    );
    for (const t of [x, whole, part, table, resampled]) rt.release(t);
  });

  it('every kernel variant binds at most 8 storage buffers (the WebGPU default limit per stage)', () => {
    for (const grn of ['none', 'apply', 'stats'] as const)
      for (const residual of [false, true]) {
        const variant = { tileVoxels: 64, outPerThread: 1, residual, grn };
        expect(invertedBottleneckKernel.bindings(variant).length).toBeLessThanOrEqual(8);
      }
    expect(frontPaddedAddKernel.bindings({ strided: true }).length).toBeLessThanOrEqual(8);
    expect(depthwiseConv3dKernel.bindings({ k: 3, transposed: false }).length).toBeLessThanOrEqual(8);
  });

  it('an upload while commands are recorded never takes a pooled buffer those commands write', async () => {
    const a = rt.upload(Float32Array.of(1, 2, 3, 4), 'a');
    const scratch = rt.tensor(4, 'scratch');
    add(rt, { a, b: a, output: scratch });
    rt.release(scratch);
    // Written on the queue before the recorded commands run: it must not land in `scratch`.
    const fresh = rt.upload(Float32Array.of(9, 9, 9, 9), 'fresh');
    const out = rt.tensor(4, 'out');
    add(rt, { a: fresh, b: a, output: out });
    expect(Array.from(await rt.read(out))).toEqual([10, 11, 12, 13]);
  });

  it('encode(): the caller’s commands run in order between the recorded dispatches', async () => {
    const a = rt.upload(Float32Array.of(1, 2, 3, 4), 'a');
    const doubled = rt.tensor(4, 'doubled');
    const copied = rt.tensor(4, 'copied');
    const out = rt.tensor(4, 'out');
    add(rt, { a, b: a, output: doubled });
    // A raw buffer copy after the first dispatch and before the second: it sees 2a and feeds 2a + a.
    rt.encode((encoder) => encoder.copyBufferToBuffer(doubled.buffer, 0, copied.buffer, 0, 16));
    add(rt, { a: copied, b: a, output: out });
    expect(Array.from(await rt.read(out))).toEqual([3, 6, 9, 12]);
  });

  it('resetPeak(): the peak restarts from what is allocated now', () => {
    const before = rt.allocatedBytes;
    const t = rt.tensor(1 << 16, 'large');
    expect(rt.peakBytes).toBeGreaterThanOrEqual(before + (1 << 18));
    rt.release(t);
    rt.trim();
    rt.resetPeak();
    expect(rt.peakBytes).toBe(rt.allocatedBytes);
    expect(rt.peakBytes).toBeLessThan(before + (1 << 18));
  });

  it('rejects mismatched tensors with a message naming the argument', () => {
    const x = rt.tensor(10, 'x');
    expect(() =>
      depthwiseConv3d(rt, {
        input: x,
        filter: x,
        bias: x,
        output: x,
        channels: 1,
        inSize: [2, 2, 2],
        kernel: 3,
        stride: 1,
      }),
    ).toThrow(/input has 10 elements, expected 8/);
    expect(() => rt.tensor(rt.maxBindingBytes / 4 + 1, 'huge')).toThrow(/storage binding limit/);
  });
});
