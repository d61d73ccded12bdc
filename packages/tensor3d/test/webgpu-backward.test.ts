/**
 * The backward WGSL kernels on Dawn, on odd, non-cubic shapes (workgroups and strides never divide them evenly).
 *
 * Oracles and tolerances, fixed before measuring:
 * - depthwise and pointwise gradients: a float64 scatter over the forward's (output, tap) pairs — the transpose of
 *   the gather the kernels do — and, for the forward depthwise form, the project's depthwiseFilterGradReference and
 *   the adjoint identity <dy, conv(x')> = <dx, x'> with depthwiseReference. Every float32 result must lie within
 *   the worst-case bound of a float32 sum of n terms, (n + 2) · 2⁻²⁴ · Σ|terms| (Higham's γ_n, plus the final
 *   rounding), per element;
 * - GroupNorm, GRN and the inverted bottleneck: tf.grad of the same forward written with tfjs ops on the cpu backend
 *   (float32 on both sides, so max |diff| ≤ 1e-4 · max |tfjs| per gradient tensor).
 * The measured errors are printed after the tests.
 */
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core registers its gradients only through the full package (see src/compute/gradients.ts).
import '../src/compute/gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GpuRuntime,
  depthwiseConv3dFilterGrad,
  depthwiseConv3dInputGrad,
  depthwiseOutputSize,
  frontPaddedAdd,
  frontPaddedAddBackward,
  groupNormBackward,
  grnBackward,
  groupNormStats,
  grnScale,
  invertedBottleneck,
  bottleneckTiles,
  invertedBottleneckBackward,
  packBottleneckVectors,
  pointwiseConv3dInputGrad,
  pointwiseConv3dWeightGrad,
  channelProductChunks,
  type DepthwiseGradShape,
  type GpuTensor,
  type PointwiseGradShape,
} from '../src/webgpu/index.js';
import { depthwiseFilterGradReference, depthwiseReference } from '../src/kernels/reference.js';
import { randomValues } from './helpers/depthwise-oracle.js';
import { WEBGPU_DECLARED_ABSENT, testGpuDevice } from './helpers/webgpu-device.js';

type V3 = [number, number, number];
const U = 2 ** -24;
const TFJS_REL_TOL = 1e-4;

/** A float64 gradient with, per element, the count and absolute sum of its terms (for the γ_n bound). */
class Accumulated {
  readonly value: Float64Array;
  readonly abs: Float64Array;
  readonly terms: Uint32Array;
  constructor(n: number) {
    this.value = new Float64Array(n);
    this.abs = new Float64Array(n);
    this.terms = new Uint32Array(n);
  }
  add(i: number, t: number): void {
    this.value[i] += t;
    this.abs[i] += Math.abs(t);
    this.terms[i]++;
  }
}

const measured: string[] = [];

/** Asserts |gpu - ref| ≤ (n + 2) u Σ|terms| per element; records the worst absolute error and bound ratio. */
function expectWithinSumBound(gpu: Float32Array, ref: Accumulated, what: string): void {
  expect(gpu.length, `${what}: length`).toBe(ref.value.length);
  let worstRatio = 0;
  let worstAbs = 0;
  let scale = 0;
  for (let i = 0; i < gpu.length; i++) {
    const err = Math.abs(gpu[i] - ref.value[i]);
    const bound = (ref.terms[i] + 2) * U * ref.abs[i];
    scale = Math.max(scale, Math.abs(ref.value[i]));
    worstAbs = Math.max(worstAbs, err);
    if (err > 0) worstRatio = Math.max(worstRatio, bound > 0 ? err / bound : Infinity);
    if (err > bound) expect.fail(`${what}[${i}]: gpu ${gpu[i]}, float64 ${ref.value[i]}, bound ${bound}`);
  }
  expect(scale, `${what}: the reference is all zeros, the check would be vacuous`).toBeGreaterThan(0);
  measured.push(
    `${what}: max |err| ${worstAbs.toExponential(2)} (max |ref| ${scale.toExponential(2)}), worst err/bound ${worstRatio.toFixed(3)}`,
  );
}

/** Asserts max |gpu - ref| ≤ TFJS_REL_TOL · max |ref|. */
function expectCloseToTfjs(gpu: Float32Array, ref: Float32Array, what: string): void {
  expect(gpu.length, `${what}: length`).toBe(ref.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < gpu.length; i++) {
    diff = Math.max(diff, Math.abs(gpu[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  expect(scale, `${what}: tfjs gradient is all zeros, the check would be vacuous`).toBeGreaterThan(0);
  measured.push(
    `${what}: max |err| ${diff.toExponential(2)}, relative to max |tfjs| ${(diff / scale).toExponential(2)}`,
  );
  expect(diff, `${what}: max |diff| ${diff} vs max |tfjs| ${scale}`).toBeLessThanOrEqual(TFJS_REL_TOL * scale);
}

/** Compares an interleaved [n, 2] gradient (dGamma, dBeta per channel, as the kernels write it) with tfjs's two. */
function expectPairsCloseToTfjs(
  pairs: Float32Array,
  refGamma: Float32Array,
  refBeta: Float32Array,
  what: string,
  names = ['dGamma', 'dBeta'],
): void {
  expectCloseToTfjs(
    pairs.filter((_, i) => i % 2 === 0),
    refGamma,
    `${what} ${names[0]}`,
  );
  expectCloseToTfjs(
    pairs.filter((_, i) => i % 2 === 1),
    refBeta,
    `${what} ${names[1]}`,
  );
}

/** Exact GELU x · Φ(x) in tfjs, the reference of the kernels' erfc-based GELU. */
const exactGelu = (a: tf.Tensor): tf.Tensor => tf.mul(tf.mul(a, 0.5), tf.add(1, tf.erf(tf.mul(a, Math.SQRT1_2))));

const vol = (s: readonly number[]): number => s[0] * s[1] * s[2];

/** [C, V] → [V, C]. */
function toChannelsLast(x: ArrayLike<number>, c: number, v: number): Float32Array {
  const out = new Float32Array(c * v);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < v; i++) out[i * c + ch] = x[ch * v + i];
  return out;
}

/** Float64 gradients of a depthwise conv by scattering over its (output voxel, tap) pairs, channels-first. */
function depthwiseGradsReference(o: {
  x: Float32Array;
  w: Float32Array;
  dy: Float32Array;
  c: number;
  inSize: V3;
  k: number;
  stride: 1 | 2;
  transposed: boolean;
}) {
  const { c, inSize, k } = o;
  const out = depthwiseOutputSize(inSize, o.stride, o.transposed);
  const p = k >> 1;
  // Input index read by output index q through tap t, or -1.
  const source = (q: number, t: number, n: number): number => {
    if (o.transposed) {
      const a = q + p - t;
      return a < 0 || a % 2 !== 0 || a / 2 >= n ? -1 : a / 2;
    }
    const i = q * o.stride - p + t;
    return i < 0 || i >= n ? -1 : i;
  };
  const dx = new Accumulated(c * vol(inSize));
  const dw = new Accumulated(c * k ** 3);
  const db = new Accumulated(c);
  for (let ch = 0; ch < c; ch++)
    for (let z = 0; z < out[0]; z++)
      for (let y = 0; y < out[1]; y++)
        for (let xx = 0; xx < out[2]; xx++) {
          const g = o.dy[((ch * out[0] + z) * out[1] + y) * out[2] + xx];
          db.add(ch, g);
          for (let td = 0; td < k; td++) {
            const iz = source(z, td, inSize[0]);
            if (iz < 0) continue;
            for (let th = 0; th < k; th++) {
              const iy = source(y, th, inSize[1]);
              if (iy < 0) continue;
              for (let tw = 0; tw < k; tw++) {
                const ix = source(xx, tw, inSize[2]);
                if (ix < 0) continue;
                const xi = ((ch * inSize[0] + iz) * inSize[1] + iy) * inSize[2] + ix;
                const wi = ((ch * k + td) * k + th) * k + tw;
                dx.add(xi, g * o.w[wi]);
                dw.add(wi, g * o.x[xi]);
              }
            }
          }
        }
  return { dx, dw, db, out };
}

/**
 * Float64 gradients of a pointwise conv (input voxel = stride · output voxel), channels-first, by scattering over
 * output voxels; `prior` values (accumulated outputs) enter each gradient first.
 */
function pointwiseGradsReference(
  o: { x: Float32Array; w: Float32Array; dy: Float32Array; ci: number; co: number; inSize: V3; stride: number },
  prior?: { dx: Float32Array; dw: Float32Array; db: Float32Array },
) {
  const { x, w, dy, ci, co, inSize, stride } = o;
  const out = inSize.map((n) => Math.ceil(n / stride)) as V3;
  const dx = new Accumulated(x.length);
  const dw = new Accumulated(w.length);
  const db = new Accumulated(co);
  prior?.dx.forEach((r, i) => dx.add(i, r));
  prior?.dw.forEach((r, i) => dw.add(i, r));
  prior?.db.forEach((r, i) => db.add(i, r));
  for (let m = 0; m < co; m++)
    for (let z = 0; z < out[0]; z++)
      for (let y = 0; y < out[1]; y++)
        for (let xx = 0; xx < out[2]; xx++) {
          const g = dy[m * vol(out) + (z * out[1] + y) * out[2] + xx];
          db.add(m, g);
          const src = (z * stride * inSize[1] + y * stride) * inSize[2] + xx * stride;
          for (let i = 0; i < ci; i++) {
            dx.add(i * vol(inSize) + src, g * w[m * ci + i]);
            dw.add(m * ci + i, g * x[i * vol(inSize) + src]);
          }
        }
  return { dx, dw, db };
}

/** Checks the (dx, dW, db) a test read back against their float64 references, labelled `${op} dx ${form}` etc. */
function expectGradsWithinSumBound(
  [dxv, dwv, dbv]: Float32Array[],
  ref: { dx: Accumulated; dw: Accumulated; db: Accumulated },
  op: string,
  form: string,
): void {
  expectWithinSumBound(dxv, ref.dx, `${op} dx ${form}`);
  expectWithinSumBound(dwv, ref.dw, `${op} dW ${form}`);
  expectWithinSumBound(dbv, ref.db, `${op} db ${form}`);
}

describe.skipIf(WEBGPU_DECLARED_ABSENT)('backward WGSL kernels against float64 and tfjs gradients (WebGPU)', () => {
  let rt: GpuRuntime;
  let seed = 900;
  const rand = (n: number, scale = 1): Float32Array => randomValues(n, seed++).map((v) => v * scale);

  type Grads = { dx: GpuTensor; dw: GpuTensor; db: GpuTensor };
  type ConvData = { x: Float32Array; w: Float32Array; dy: Float32Array };
  /** Records the depthwise input and filter/bias gradients into `grads` and reads them back. */
  const runDepthwiseGrads = (shape: DepthwiseGradShape, d: ConvData, grads: Grads): Promise<Float32Array[]> => {
    const gdy = rt.upload(d.dy, 'dy');
    depthwiseConv3dInputGrad(rt, { ...shape, gradOutput: gdy, filter: rt.upload(d.w, 'w'), gradInput: grads.dx });
    depthwiseConv3dFilterGrad(rt, {
      ...shape,
      input: rt.upload(d.x, 'x'),
      gradOutput: gdy,
      gradFilter: grads.dw,
      gradBias: grads.db,
    });
    return rt.finish([grads.dx, grads.dw, grads.db]);
  };
  /** Records the pointwise input and weight/bias gradients into `grads` and reads them back. */
  const runPointwiseGrads = (shape: PointwiseGradShape, d: ConvData, grads: Grads): Promise<Float32Array[]> => {
    const gdy = rt.upload(d.dy, 'dy');
    pointwiseConv3dInputGrad(rt, { ...shape, gradOutput: gdy, weight: rt.upload(d.w, 'w'), gradInput: grads.dx });
    pointwiseConv3dWeightGrad(rt, {
      ...shape,
      input: rt.upload(d.x, 'x'),
      gradOutput: gdy,
      gradWeight: grads.dw,
      gradBias: grads.db,
    });
    return rt.finish([grads.dx, grads.dw, grads.db]);
  };

  /** Random inverted-bottleneck inputs in a fixed draw order (x, gamma, beta, W2, b2, W3, b3). */
  const bottleneckParams = (c: number, e: number, co: number, v: number) => ({
    x: rand(c * v, 1.5),
    gamma: rand(c).map((g) => g + 1.2),
    beta: rand(c, 0.5),
    w2: rand(e * c, 0.6),
    b2: rand(e, 0.3),
    w3: rand(co * e, 0.4),
    b3: rand(co, 0.3),
  });
  /** The gradient tensors invertedBottleneckBackward writes, in the order of bottleneckTfInputs' gradients. */
  const bottleneckGradTensors = (c: number, e: number, co: number, v: number) => ({
    gradInput: rt.tensor(c * v, 'dx'),
    gradNormAffine: rt.tensor(2 * c, 'dAffine'),
    gradW2: rt.tensor(e * c, 'dW2'),
    gradB2: rt.tensor(e, 'db2'),
    gradW3: rt.tensor(co * e, 'dW3'),
    gradB3: rt.tensor(co, 'db3'),
  });
  /** The bottleneck parameters as tfjs tensors, for tf.grads: x [C, V], gamma, beta, W2 [E, C], b2, W3 [CO, E], b3. */
  const bottleneckTfInputs = (p: ReturnType<typeof bottleneckParams>, c: number, e: number, co: number, v: number) => [
    tf.tensor2d(p.x, [c, v]),
    tf.tensor1d(p.gamma),
    tf.tensor1d(p.beta),
    tf.tensor2d(p.w2, [e, c]),
    tf.tensor1d(p.b2),
    tf.tensor2d(p.w3, [co, e]),
    tf.tensor1d(p.b3),
  ];

  beforeAll(async () => {
    const { device } = await testGpuDevice();
    rt = new GpuRuntime(device);
    await tf.setBackend('cpu');
  });
  afterAll(() => {
    console.log(`backward kernels on Dawn, measured:\n  ${measured.join('\n  ')}`);
    rt?.dispose();
  });

  const depthwiseCases: Array<{ k: number; stride: 1 | 2; transposed: boolean }> = [
    { k: 3, stride: 1, transposed: false },
    { k: 5, stride: 1, transposed: false },
    { k: 7, stride: 1, transposed: false },
    { k: 3, stride: 2, transposed: false },
    { k: 5, stride: 2, transposed: false },
    { k: 7, stride: 2, transposed: false },
    { k: 3, stride: 2, transposed: true },
    { k: 5, stride: 2, transposed: true },
    { k: 7, stride: 2, transposed: true },
  ];

  for (const { k, stride, transposed } of depthwiseCases) {
    const form = transposed ? 'transposed' : `stride ${stride}`;
    it(`depthwise conv input, filter and bias gradients: k ${k}, ${form}`, async () => {
      const c = 3;
      const inSize: V3 = transposed ? [4, 3, 5] : [7, 5, 9];
      const out = depthwiseOutputSize(inSize, stride, transposed);
      const x = rand(c * vol(inSize));
      const w = rand(c * k ** 3, 0.5);
      const dy = rand(c * vol(out));
      const ref = depthwiseGradsReference({ x, w, dy, c, inSize, k, stride, transposed });
      const grads = { dx: rt.tensor(x.length, 'dx'), dw: rt.tensor(w.length, 'dw'), db: rt.tensor(c, 'db') };
      const shape = { channels: c, inSize, kernel: k, stride, transposed };
      const [dxv, dwv, dbv] = await runDepthwiseGrads(shape, { x, w, dy }, grads);
      expectGradsWithinSumBound([dxv, dwv, dbv], ref, 'depthwise', `k${k} ${form}`);

      if (!transposed) {
        // The project's own references (channels-last [1, D, H, W, C], filter [k, k, k, C]) agree.
        const shape5: [number, number, number, number, number] = [1, ...inSize, c];
        const dyShape: [number, number, number, number, number] = [1, ...out, c];
        const filterRef = depthwiseFilterGradReference(
          toChannelsLast(x, c, vol(inSize)),
          shape5,
          toChannelsLast(dy, c, vol(out)),
          dyShape,
          k,
          stride,
          k >> 1,
        );
        const dwLast = toChannelsLast(dwv, c, k ** 3);
        for (let i = 0; i < dwLast.length; i++) {
          expect(Math.abs(dwLast[i] - filterRef[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(filterRef[i])));
        }
        // Adjoint: <dy, conv_W(x')> = <dx, x'> for any x' (bias-free forward from depthwiseReference).
        const probe = rand(x.length);
        const fwd = depthwiseReference(toChannelsLast(probe, c, vol(inSize)), shape5, toChannelsLast(w, c, k ** 3), k, {
          stride,
          pad: k >> 1,
          transposed: false,
          outSpatial: out,
        });
        const dyLast = toChannelsLast(dy, c, vol(out));
        let lhs = 0;
        let lhsAbs = 0;
        for (let i = 0; i < dyLast.length; i++) {
          lhs += dyLast[i] * fwd.data[i];
          lhsAbs += Math.abs(dyLast[i] * fwd.data[i]);
        }
        let rhs = 0;
        for (let i = 0; i < probe.length; i++) rhs += dxv[i] * probe[i];
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-5 * lhsAbs);
      }
    });
  }

  for (const stride of [1, 2]) {
    it(`pointwise conv input, weight and bias gradients: stride ${stride}`, async () => {
      const [ci, co] = [5, 7];
      const inSize: V3 = [5, 6, 7];
      const out = inSize.map((n) => Math.ceil(n / stride)) as V3;
      const x = rand(ci * vol(inSize));
      const w = rand(co * ci, 0.5);
      const dy = rand(co * vol(out));
      const ref = pointwiseGradsReference({ x, w, dy, ci, co, inSize, stride });
      const grads = { dx: rt.tensor(x.length, 'dx'), dw: rt.tensor(w.length, 'dw'), db: rt.tensor(co, 'db') };
      const got = await runPointwiseGrads({ inChannels: ci, outChannels: co, inSize, stride }, { x, w, dy }, grads);
      // Voxels the stride skips get exactly 0 (no terms).
      expectGradsWithinSumBound(got, ref, 'pointwise', `stride ${stride}`);
    });
  }

  // The tiled weight gradient: tiles of (m, n) outputs over chunks of voxels, the bias as an extra column.
  // Channel counts that leave partial tiles, voxel counts that leave a partial staging step and a partial chunk.
  for (const [ci, co, inSize, stride] of [
    [5, 7, [7, 11, 13], 1],
    [5, 7, [7, 11, 13], 2],
    [10, 9, [40, 41, 43], 1],
  ] as [number, number, V3, number][]) {
    const vox = vol(inSize.map((n) => Math.ceil(n / stride)) as V3);
    it(`pointwise weight gradient, tiled: ${co}x${ci} channels, ${vox} voxels, stride ${stride}`, async () => {
      const { chunks } = channelProductChunks(co, ci, vox);
      if (vox > 50000) expect(chunks, 'the large case must span many chunks').toBeGreaterThan(8);
      const x = rand(ci * vol(inSize));
      const w = rand(co * ci, 0.5);
      const dy = rand(co * vox);
      const ref = pointwiseGradsReference({ x, w, dy, ci, co, inSize, stride });
      const grads = { dx: rt.tensor(x.length, 'dx'), dw: rt.tensor(w.length, 'dw'), db: rt.tensor(co, 'db') };
      const got = await runPointwiseGrads({ inChannels: ci, outChannels: co, inSize, stride }, { x, w, dy }, grads);
      expectGradsWithinSumBound(got, ref, 'pointwise', `${co}x${ci}, ${vox} voxels (${chunks} chunks)`);
    });
  }

  it('pointwise weight gradient is bit-identical run to run (fixed summation order, no atomics)', async () => {
    const [ci, co] = [10, 9];
    const inSize: V3 = [40, 41, 43];
    const shape = { inChannels: ci, outChannels: co, inSize };
    const input = rt.upload(rand(ci * vol(inSize)), 'x');
    const gradOutput = rt.upload(rand(co * vol(inSize)), 'dy');
    const runOnce = async (): Promise<Float32Array[]> => {
      const [gradWeight, gradBias] = [rt.tensor(co * ci, 'dw'), rt.tensor(co, 'db')];
      pointwiseConv3dWeightGrad(rt, { ...shape, input, gradOutput, gradWeight, gradBias });
      return rt.finish([gradWeight, gradBias]);
    };
    const first = await runOnce();
    const second = await runOnce();
    expect(first[0].some((v) => v !== 0)).toBe(true);
    for (let k = 0; k < 2; k++) {
      expect(Array.from(new Uint32Array(second[k].buffer, second[k].byteOffset, second[k].length))).toEqual(
        Array.from(new Uint32Array(first[k].buffer, first[k].byteOffset, first[k].length)),
      );
    }
  });

  it('depthwise and pointwise gradients add onto the output tensors with accumulate (batches, skip connections)', async () => {
    const c = 2;
    const inSize: V3 = [5, 4, 7];
    for (const [k, stride, transposed] of [
      [5, 2, false],
      [3, 2, true],
    ] as const) {
      const out = depthwiseOutputSize(inSize, stride, transposed);
      const x = rand(c * vol(inSize));
      const w = rand(c * k ** 3, 0.5);
      const dy = rand(c * vol(out));
      const ref = depthwiseGradsReference({ x, w, dy, c, inSize, k, stride, transposed });
      const prior = { dx: rand(x.length), dw: rand(w.length), db: rand(c) };
      prior.dx.forEach((r, i) => ref.dx.add(i, r));
      prior.dw.forEach((r, i) => ref.dw.add(i, r));
      prior.db.forEach((r, i) => ref.db.add(i, r));
      const [dx, dw, db] = [rt.upload(prior.dx, 'dx'), rt.upload(prior.dw, 'dw'), rt.upload(prior.db, 'db')];
      const shape = { channels: c, inSize, kernel: k, stride, transposed, accumulate: true };
      const got = await runDepthwiseGrads(shape, { x, w, dy }, { dx, dw, db });
      const form = transposed ? 'transposed' : `stride ${stride}`;
      expectGradsWithinSumBound(got, ref, 'depthwise', `k${k} ${form} accumulated`);
    }
    // Pointwise, stride 2: skipped voxels keep their prior value.
    const [ci, co] = [3, 4];
    const out = inSize.map((n) => Math.ceil(n / 2)) as V3;
    const x = rand(ci * vol(inSize));
    const w = rand(co * ci, 0.5);
    const dy = rand(co * vol(out));
    const prior = { dx: rand(x.length), dw: rand(w.length), db: rand(co) };
    const ref = pointwiseGradsReference({ x, w, dy, ci, co, inSize, stride: 2 }, prior);
    const grads = { dx: rt.upload(prior.dx, 'dx'), dw: rt.upload(prior.dw, 'dw'), db: rt.upload(prior.db, 'db') };
    const shape = { inChannels: ci, outChannels: co, inSize, stride: 2, accumulate: true };
    const got = await runPointwiseGrads(shape, { x, w, dy }, grads);
    expectGradsWithinSumBound(got, ref, 'pointwise', 'stride 2 accumulated');
  });

  it('frontPaddedAdd backward (shifted crop, stride-2 grid, fill) against its definition and the forward kernel', async () => {
    const c = 3;
    const size: V3 = [6, 4, 8];
    const [d, h, w] = size;
    const dt = rand(c * d * h * w);
    const shiftedRef = new Accumulated(c * (d - 1) * (h - 1) * (w - 1));
    const stridedRef = new Accumulated((c * d * h * w) / 8);
    const fillRef = new Accumulated(c);
    for (let ch = 0; ch < c; ch++)
      for (let jd = 1; jd < d; jd++)
        for (let jh = 1; jh < h; jh++)
          for (let jw = 1; jw < w; jw++) {
            const g = dt[((ch * d + jd) * h + jh) * w + jw];
            shiftedRef.add(((ch * (d - 1) + jd - 1) * (h - 1) + jh - 1) * (w - 1) + jw - 1, g);
            if ((jd - 1) % 2 === 0 && (jh - 1) % 2 === 0 && (jw - 1) % 2 === 0) {
              stridedRef.add(((ch * (d / 2) + (jd - 1) / 2) * (h / 2) + (jh - 1) / 2) * (w / 2) + (jw - 1) / 2, g);
            } else {
              fillRef.add(ch, g);
            }
          }
    const gradShifted = rt.tensor(shiftedRef.value.length, 'dShifted');
    const gradStrided = rt.tensor(stridedRef.value.length, 'dStrided');
    const gradFill = rt.tensor(c, 'dFill');
    frontPaddedAddBackward(rt, {
      gradTarget: rt.upload(dt, 'dt'),
      gradShifted,
      gradStrided,
      gradFill,
      channels: c,
      size,
    });
    const [ds, dst, df] = await rt.finish([gradShifted, gradStrided, gradFill]);
    expectWithinSumBound(ds, shiftedRef, 'frontPaddedAdd dShifted');
    expectWithinSumBound(dst, stridedRef, 'frontPaddedAdd dStrided');
    expectWithinSumBound(df, fillRef, 'frontPaddedAdd dFill');

    // Adjoint of the forward kernel: <dt, F(s, st, f) - F(0)> = <ds, s> + <dst, st> + <df, f>.
    const [s0, st0, f0] = [rand(ds.length), rand(dst.length), rand(c)];
    const target = rt.upload(new Float32Array(dt.length), 'target');
    frontPaddedAdd(rt, {
      target,
      shifted: rt.upload(s0, 's'),
      strided: rt.upload(st0, 'st'),
      fill: rt.upload(f0, 'f'),
      channels: c,
      size,
    });
    const [fwd] = await rt.finish([target]);
    let lhs = 0;
    let lhsAbs = 0;
    for (let i = 0; i < dt.length; i++) {
      lhs += dt[i] * fwd[i];
      lhsAbs += Math.abs(dt[i] * fwd[i]);
    }
    let rhs = 0;
    ds.forEach((g, i) => (rhs += g * s0[i]));
    dst.forEach((g, i) => (rhs += g * st0[i]));
    df.forEach((g, i) => (rhs += g * f0[i]));
    expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-5 * lhsAbs);
  });

  /** Forward GroupNorm (one group per channel, biased variance, eps 1e-5) in tfjs ops, x [C, V]. */
  const tfGroupNorm = (x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor2D => {
    const { mean, variance } = tf.moments(x, 1, true);
    const xhat = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
    return tf.add(tf.mul(xhat, tf.reshape(gamma, [-1, 1])), tf.reshape(beta, [-1, 1]));
  };

  it('GroupNorm backward (dx, dGamma, dBeta) against tf.grads, channels with a large mean', async () => {
    const [c, v] = [3, 7 * 5 * 9];
    const x = rand(c * v, 2).map((val, i) => val + (i < v ? 40 : -3));
    const gamma = rand(c).map((g) => g + 1.5);
    const beta = rand(c);
    const dy = rand(c * v);
    const gx = rt.upload(x, 'x');
    const stats = rt.tensor(2 * c, 'stats');
    groupNormStats(rt, { input: gx, stats, channels: c, voxels: v });
    const dx = rt.tensor(c * v, 'dx');
    const dAffine = rt.tensor(2 * c, 'dAffine');
    groupNormBackward(rt, {
      input: gx,
      stats,
      gamma: rt.upload(gamma, 'gamma'),
      gradOutput: rt.upload(dy, 'dy'),
      gradInput: dx,
      gradAffine: dAffine,
      channels: c,
      voxels: v,
    });
    const [dxv, affine] = await rt.finish([dx, dAffine]);
    const dyT = tf.tensor2d(dy, [c, v]);
    const grads = tf.grads((xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tfGroupNorm(xs as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D), dyT)),
    )([tf.tensor2d(x, [c, v]), tf.tensor1d(gamma), tf.tensor1d(beta)]);
    const [rx, rg, rb] = await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>));
    expectCloseToTfjs(dxv, rx, 'GroupNorm dx');
    expectPairsCloseToTfjs(affine, rg, rb, 'GroupNorm');
    tf.dispose([dyT, ...grads]);
  });

  it('inverted bottleneck backward with recompute (dx, dGamma, dBeta, dW2, db2, dW3, db3) against tf.grads', async () => {
    const [c, e, co, v] = [5, 11, 6, 3 * 5 * 7];
    const p = bottleneckParams(c, e, co, v);
    p.x = p.x.map((val, i) => val + 0.3 * Math.floor(i / v));
    const { x, gamma, beta, w2, b2, w3, b3 } = p;
    const dy = rand(co * v);
    const gx = rt.upload(x, 'x');
    const stats = rt.tensor(2 * c, 'stats');
    groupNormStats(rt, { input: gx, stats, channels: c, voxels: v });
    const out = bottleneckGradTensors(c, e, co, v);
    invertedBottleneckBackward(rt, {
      input: gx,
      stats,
      vectors: rt.upload(packBottleneckVectors({ gamma, beta, b2, b3 }), 'vectors'),
      w2: rt.upload(w2, 'w2'),
      w3: rt.upload(w3, 'w3'),
      gradOutput: rt.upload(dy, 'dy'),
      ...out,
      channels: c,
      expanded: e,
      outChannels: co,
      voxels: v,
    });
    const [dxv, affine, dw2, db2, dw3, db3] = await rt.finish([
      out.gradInput,
      out.gradNormAffine,
      out.gradW2,
      out.gradB2,
      out.gradW3,
      out.gradB3,
    ]);

    const dyT = tf.tensor2d(dy, [co, v]);
    const forward = (...p: tf.Tensor[]): tf.Scalar => {
      const [xs, g, b, W2, B2, W3, B3] = p as [
        tf.Tensor2D,
        tf.Tensor1D,
        tf.Tensor1D,
        tf.Tensor2D,
        tf.Tensor1D,
        tf.Tensor2D,
        tf.Tensor1D,
      ];
      const n = tfGroupNorm(xs, g, b);
      const h = exactGelu(tf.add(tf.matMul(W2, n), tf.reshape(B2, [-1, 1])));
      const y = tf.add(tf.matMul(W3, h as tf.Tensor2D), tf.reshape(B3, [-1, 1]));
      return tf.sum(tf.mul(y, dyT));
    };
    const grads = tf.grads(forward)(bottleneckTfInputs(p, c, e, co, v));
    const ref = await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>));
    expectCloseToTfjs(dxv, ref[0], 'bottleneck dx');
    expectPairsCloseToTfjs(affine, ref[1], ref[2], 'bottleneck');
    expectCloseToTfjs(dw2, ref[3], 'bottleneck dW2');
    expectCloseToTfjs(db2, ref[4], 'bottleneck db2');
    expectCloseToTfjs(dw3, ref[5], 'bottleneck dW3');
    expectCloseToTfjs(db3, ref[6], 'bottleneck db3');
    tf.dispose([dyT, ...grads]);
  });

  it('GRN backward (dh, dGamma, dBeta) against tf.grads, with one all-zero channel', async () => {
    const [e, v] = [13, 5 * 3 * 7];
    const h = rand(e * v, 1.3);
    h.fill(0, 4 * v, 5 * v); // channel 4: norm 0, where the norm's gradient is taken as 0
    const gamma = rand(e, 0.8);
    const beta = rand(e, 0.5);
    const dOut = rand(e * v);
    const dh = rt.tensor(e * v, 'dh');
    const dAffine = rt.tensor(2 * e, 'dAffine');
    grnBackward(rt, {
      input: rt.upload(h, 'h'),
      gradOutput: rt.upload(dOut, 'dOut'),
      gamma: rt.upload(gamma, 'gamma'),
      gradInput: dh,
      gradAffine: dAffine,
      channels: e,
      voxels: v,
    });
    const [dhv, affine] = await rt.finish([dh, dAffine]);
    const dOutT = tf.tensor2d(dOut, [e, v]);
    const forward = (...p: tf.Tensor[]): tf.Scalar => {
      const [hs, g, b] = p as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
      // sqrt's gradient is infinite at 0: add 0 · (1/G) only where G > 0 by taking the norm of max(h², tiny).
      const norms = tf.sqrt(tf.maximum(tf.sum(tf.square(hs), 1, true), 1e-30));
      const n = tf.div(norms, tf.add(tf.mean(norms), 1e-6));
      const out = tf.add(tf.mul(hs, tf.add(1, tf.mul(tf.reshape(g, [-1, 1]), n))), tf.reshape(b, [-1, 1]));
      return tf.sum(tf.mul(out, dOutT));
    };
    const grads = tf.grads(forward)([tf.tensor2d(h, [e, v]), tf.tensor1d(gamma), tf.tensor1d(beta)]);
    const [rh, rg, rb] = await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>));
    expectCloseToTfjs(dhv, rh, 'GRN dh');
    expectPairsCloseToTfjs(affine, rg, rb, 'GRN');
    tf.dispose([dOutT, ...grads]);
  });

  it('inverted bottleneck backward with GRN (the forward GRN affine from the forward kernels) against tf.grads', async () => {
    const [c, e, co, v] = [4, 9, 5, 5 * 3 * 7];
    const p = bottleneckParams(c, e, co, v);
    const { x, gamma, beta, w2, b2, b3, w3 } = p;
    const grnGamma = rand(e, 0.7);
    const grnBeta = rand(e, 0.4);
    const dy = rand(co * v);
    const shape = { channels: c, expanded: e, outChannels: co, voxels: v };
    const gx = rt.upload(x, 'x');
    const stats = rt.tensor(2 * c, 'stats');
    const vectors = rt.upload(packBottleneckVectors({ gamma, beta, b2, b3 }), 'vectors');
    const gw2 = rt.upload(w2, 'w2');
    const ggamma = rt.upload(grnGamma, 'grn gamma');
    // The forward's GRN affine, as the engine computes it.
    groupNormStats(rt, { input: gx, stats, channels: c, voxels: v });
    const sums = rt.tensor(bottleneckTiles(shape, v) * e, 'grn sums');
    invertedBottleneck(rt, { ...shape, input: gx, stats, vectors, w2: gw2, output: sums, grn: 'stats' });
    const grnAffine = rt.tensor(2 * e, 'grn affine');
    grnScale(rt, { sums, gamma: ggamma, beta: rt.upload(grnBeta, 'grn beta'), affine: grnAffine, channels: e });
    const out = bottleneckGradTensors(c, e, co, v);
    const gradGrn = rt.tensor(2 * e, 'dGrn');
    invertedBottleneckBackward(rt, {
      ...shape,
      ...out,
      input: gx,
      stats,
      vectors,
      w2: gw2,
      w3: rt.upload(w3, 'w3'),
      gradOutput: rt.upload(dy, 'dy'),
      grn: { affine: grnAffine, gamma: ggamma, gradAffine: gradGrn },
    });
    const got = await rt.finish([
      out.gradInput,
      out.gradNormAffine,
      out.gradW2,
      out.gradB2,
      out.gradW3,
      out.gradB3,
      gradGrn,
    ]);

    const dyT = tf.tensor2d(dy, [co, v]);
    const forward = (...p: tf.Tensor[]): tf.Scalar => {
      const [xs, g, b, W2, B2, W3, B3, gg, gb] = p as tf.Tensor2D[];
      const n = tfGroupNorm(xs, g as unknown as tf.Tensor1D, b as unknown as tf.Tensor1D);
      const h = exactGelu(tf.add(tf.matMul(W2, n), tf.reshape(B2, [-1, 1]))) as tf.Tensor2D;
      const norms = tf.sqrt(tf.sum(tf.square(h), 1, true));
      const scale = tf.add(1, tf.mul(tf.reshape(gg, [-1, 1]), tf.div(norms, tf.add(tf.mean(norms), 1e-6))));
      const hg = tf.add(tf.mul(h, scale), tf.reshape(gb, [-1, 1])) as tf.Tensor2D;
      const y = tf.add(tf.matMul(W3, hg), tf.reshape(B3, [-1, 1]));
      return tf.sum(tf.mul(y, dyT));
    };
    const grads = tf.grads(forward)([
      ...bottleneckTfInputs(p, c, e, co, v),
      tf.tensor1d(grnGamma),
      tf.tensor1d(grnBeta),
    ]);
    const ref = await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>));
    expectCloseToTfjs(got[0], ref[0], 'bottleneck+GRN dx');
    expectPairsCloseToTfjs(got[1], ref[1], ref[2], 'bottleneck+GRN');
    expectCloseToTfjs(got[2], ref[3], 'bottleneck+GRN dW2');
    expectCloseToTfjs(got[3], ref[4], 'bottleneck+GRN db2');
    expectCloseToTfjs(got[4], ref[5], 'bottleneck+GRN dW3');
    expectCloseToTfjs(got[5], ref[6], 'bottleneck+GRN db3');
    expectPairsCloseToTfjs(got[6], ref[7], ref[8], 'bottleneck+GRN', ['dGrnGamma', 'dGrnBeta']);
    tf.dispose([dyT, ...grads]);
  });

  it('rejects mismatched tensors with a message naming the argument', () => {
    const small = rt.tensor(7, 'small');
    expect(() =>
      depthwiseConv3dInputGrad(rt, {
        channels: 2,
        inSize: [3, 3, 3],
        kernel: 3,
        stride: 1,
        gradOutput: small,
        filter: small,
        gradInput: small,
      }),
    ).toThrow(/depthwiseConv3dInputGrad: gradOutput has 7 elements, expected 54/);
    expect(() =>
      depthwiseConv3dFilterGrad(rt, {
        channels: 1,
        inSize: [3, 3, 3],
        kernel: 4,
        stride: 1,
        input: small,
        gradOutput: small,
        gradFilter: small,
        gradBias: small,
      }),
    ).toThrow(/kernel must be odd/);
    expect(() =>
      pointwiseConv3dWeightGrad(rt, {
        inChannels: 1,
        outChannels: 1,
        inSize: [1, 1, 7],
        input: small,
        gradOutput: small,
        gradWeight: small,
        gradBias: small,
      }),
    ).toThrow(/gradWeight has 7 elements, expected 1/);
    expect(() =>
      groupNormBackward(rt, {
        input: small,
        stats: small,
        gamma: small,
        gradOutput: small,
        gradInput: small,
        gradAffine: small,
        channels: 1,
        voxels: 7,
      }),
    ).toThrow(/stats has 7 elements, expected 2/);
  });
});
