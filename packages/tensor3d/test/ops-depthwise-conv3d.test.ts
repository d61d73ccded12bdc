/**
 * depthwiseConv3d / depthwiseConvTranspose3d on every backend available offline: forward and both
 * gradients against a brute-force oracle (test/helpers/depthwise-oracle.ts), against tf.conv3d with a
 * block-diagonal filter as an independent implementation, and against finite differences.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D, Tensor5D } from '@tensorflow/tfjs-core';
import { installWebGpu, selectBackend, type BackendName } from '../src/compute/index.js';
import {
  depthwiseConv3d,
  depthwiseConvTranspose3d,
  DEPTHWISE_CONV3D_KERNEL_NAMES,
  READBACK_BACKENDS,
  replaceKernel,
} from '../src/ops/index.js';
import {
  maxAbsDiff,
  oracleConv,
  oracleConvFilterGrad,
  oracleConvTranspose,
  randomValues,
  type Shape4,
  type Shape5,
  type V3,
} from './helpers/depthwise-oracle.js';
import { readbackKernelConfigs } from '../src/ops/depthwise-conv3d/kernels-readback.js';

const webgpu = await installWebGpu();
const BACKENDS: Array<{ name: BackendName; skip: string | null }> = [
  { name: 'cpu', skip: null },
  { name: 'wasm', skip: null },
  // Dawn over Mesa's OpenGL ES gives an adapter without a GPU, so a missing one is a failure (see the test below);
  // MEDNEXT_SKIP_WEBGPU is the explicit opt-out for machines without Mesa's EGL.
  { name: 'webgpu', skip: process.env.MEDNEXT_SKIP_WEBGPU ? 'MEDNEXT_SKIP_WEBGPU is set' : null },
];

describe('WebGPU adapter', () => {
  it.skipIf(Boolean(process.env.MEDNEXT_SKIP_WEBGPU))('is found (Dawn, or a browser)', () => {
    expect(webgpu.ok ? 'ok' : webgpu.reason).toBe('ok');
  });
});

/** float32 kernels against a float64 oracle: a few ulps of the largest value involved. */
const REL_TOL = 1e-5;

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  const { diff, scale } = maxAbsDiff(actual, expected);
  expect(scale, `${what}: oracle is all zeros, the comparison would be vacuous`).toBeGreaterThan(0);
  expect(diff, `${what}: max |diff| ${diff} vs max |expected| ${scale}`).toBeLessThanOrEqual(
    REL_TOL * Math.max(1, scale),
  );
}

interface Case {
  label: string;
  x: Shape5;
  k: V3;
  stride: V3;
  pad: V3;
}

const t3 = (v: number): V3 => [v, v, v];

/** Odd, non-cubic shapes; the MedNeXt settings (padding k//2, stride 1 and 2) for k = 3, 5, 7; and mixed axes. */
const CONV_CASES: Case[] = [
  { label: 'k3 s1 p1 (block)', x: [2, 5, 7, 6, 3], k: t3(3), stride: t3(1), pad: t3(1) },
  { label: 'k3 s2 p1 (down)', x: [1, 7, 6, 9, 4], k: t3(3), stride: t3(2), pad: t3(1) },
  { label: 'k5 s1 p2 (block)', x: [1, 6, 5, 7, 2], k: t3(5), stride: t3(1), pad: t3(2) },
  { label: 'k5 s2 p2 (down)', x: [1, 9, 7, 5, 3], k: t3(5), stride: t3(2), pad: t3(2) },
  { label: 'k7 s1 p3 (block)', x: [1, 5, 8, 7, 2], k: t3(7), stride: t3(1), pad: t3(3) },
  { label: 'k7 s2 p3 (down)', x: [1, 7, 9, 6, 2], k: t3(7), stride: t3(2), pad: t3(3) },
  { label: 'mixed k[3,5,1] s[1,2,3] p[0,1,0]', x: [2, 6, 7, 8, 3], k: [3, 5, 1], stride: [1, 2, 3], pad: [0, 1, 0] },
];

interface TransposeCase extends Case {
  outputPadding: V3;
}

const TRANSPOSE_CASES: TransposeCase[] = [
  { label: 'k3 s2 p1 (up)', x: [1, 3, 5, 4, 3], k: t3(3), stride: t3(2), pad: t3(1), outputPadding: t3(0) },
  { label: 'k5 s2 p2 (up)', x: [2, 4, 3, 5, 2], k: t3(5), stride: t3(2), pad: t3(2), outputPadding: t3(0) },
  { label: 'k7 s2 p3 (up)', x: [1, 5, 3, 4, 2], k: t3(7), stride: t3(2), pad: t3(3), outputPadding: t3(0) },
  { label: 'k3 s2 p1 op1', x: [1, 3, 4, 5, 2], k: t3(3), stride: t3(2), pad: t3(1), outputPadding: t3(1) },
  { label: 'k3 s1 p1', x: [1, 4, 5, 3, 3], k: t3(3), stride: t3(1), pad: t3(1), outputPadding: t3(0) },
  {
    label: 'mixed k[3,5,2] s[2,1,3] p[1,2,0] op[1,0,2]',
    x: [1, 3, 5, 4, 2],
    k: [3, 5, 2],
    stride: [2, 1, 3],
    pad: [1, 2, 0],
    outputPadding: [1, 0, 2],
  },
];

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const filterShape = (c: Case): Shape4 => [...c.k, c.x[4]];

/** Output padding that makes the transposed conv of the conv's output come back to the input length. */
function convRemainder(c: Case): V3 {
  return [0, 1, 2].map((a) => (c.x[a + 1]! + 2 * c.pad[a]! - c.k[a]!) % c.stride[a]!) as V3;
}

async function read(t: Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

/*
 * Independent oracle: tfjs's own dense Conv3D kernels with a block-diagonal [k, k, k, C, C] filter.
 * Computed once on the cpu backend, because tfjs 4.22's wasm Conv3DBackpropInputV2 only fills the first
 * depth slice and tfjs-webgpu's 5-D pad shader fails to compile on this adapter (both checked
 * by hand); our kernels on every backend are compared with these cpu results.
 */
interface DenseResult {
  x: Float32Array;
  f: Float32Array;
  dy: Float32Array;
  y: Float32Array;
  dx: Float32Array;
  df: Float32Array;
}

/** [k, k, k, C] depthwise filter as a dense [k, k, k, C, C] filter that is zero off the channel diagonal. */
function blockDiagonal(f: Tensor4D): Tensor5D {
  const c = f.shape[3];
  return tf.mul(tf.expandDims(f, 4), tf.reshape(tf.eye(c), [1, 1, 1, c, c]));
}

/** The channel diagonal of a [k, k, k, C, C] filter (its depthwise part). */
function diagonal(dense: Float32Array, fs: Shape4): Float32Array {
  const c = fs[3];
  const out = new Float32Array(size(fs));
  for (let t = 0; t < size(fs) / c; t++) for (let ch = 0; ch < c; ch++) out[t * c + ch] = dense[(t * c + ch) * c + ch]!;
  return out;
}

const padSpec = (p: V3): Array<[number, number]> => [
  [0, 0],
  [p[0], p[0]],
  [p[1], p[1]],
  [p[2], p[2]],
  [0, 0],
];

function denseConvOracle(c: Case, seed: number): DenseResult {
  return tf.tidy(() => {
    const fs = filterShape(c);
    const x = tf.tensor5d(randomValues(size(c.x), seed), c.x);
    const f = tf.tensor4d(randomValues(size(fs), seed + 1), fs);
    const dense = blockDiagonal(f);
    const xp = tf.pad(x, padSpec(c.pad)) as Tensor5D;
    const y = tf.conv3d(xp, dense, c.stride, 'valid');
    const dy = tf.tensor5d(randomValues(size(y.shape), seed + 2), y.shape);
    // Conv3DBackpropInputV2 (= conv3dTranspose) on the padded input, then the padding cut off again.
    const dx = tf.slice(tf.conv3dTranspose(dy, dense, xp.shape, c.stride, 'valid'), [0, ...c.pad, 0], c.x);
    const df = tf
      .engine()
      .runKernel(
        'Conv3DBackpropFilterV2',
        { x: xp, dy },
        { strides: c.stride, pad: 'valid', filterShape: [...fs, fs[3]] },
      ) as Tensor;
    return {
      x: x.dataSync() as Float32Array,
      f: f.dataSync() as Float32Array,
      dy: dy.dataSync() as Float32Array,
      y: y.dataSync() as Float32Array,
      dx: dx.dataSync() as Float32Array,
      df: diagonal(df.dataSync() as Float32Array, fs),
    };
  });
}

function denseTransposeOracle(c: TransposeCase, seed: number): Pick<DenseResult, 'x' | 'f' | 'y'> {
  return tf.tidy(() => {
    const fs = filterShape(c);
    const x = tf.tensor5d(randomValues(size(c.x), seed), c.x);
    const f = tf.tensor4d(randomValues(size(fs), seed + 1), fs);
    // Full scatter output (no cropping), then PyTorch's padding cut from the front of every axis.
    const full = [0, 1, 2].map((a) => (c.x[a + 1]! - 1) * c.stride[a]! + c.k[a]!);
    const yFull = tf.conv3dTranspose(x, blockDiagonal(f), [c.x[0], ...full, c.x[4]] as Shape5, c.stride, 'valid');
    const out = [0, 1, 2].map((a) => full[a]! - 2 * c.pad[a]! + c.outputPadding[a]!);
    const y = tf.slice(yFull, [0, ...c.pad, 0], [c.x[0], ...out, c.x[4]]);
    return { x: x.dataSync() as Float32Array, f: f.dataSync() as Float32Array, y: y.dataSync() as Float32Array };
  });
}

const DENSE_CONV_CASES = CONV_CASES.filter((c) => c.x[4] > 2);
// The crop above needs the front padding to cover the output padding.
const DENSE_TRANSPOSE_CASES = TRANSPOSE_CASES.filter((c) => c.pad.every((p, a) => p >= c.outputPadding[a]!));
await selectBackend('cpu');
const denseConv = DENSE_CONV_CASES.map((c, i) => denseConvOracle(c, 700 + 10 * i));
const denseTranspose = DENSE_TRANSPOSE_CASES.map((c, i) => denseTransposeOracle(c, 1000 + 10 * i));

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== null)(
    `depthwise conv3d on ${backend.name}${backend.skip ? ` (skipped: ${backend.skip})` : ''}`,
    () => {
      beforeAll(async () => {
        await selectBackend(backend.name);
      });

      describe('depthwiseConv3d forward and gradients vs the brute-force oracle', () => {
        CONV_CASES.forEach((c, i) => {
          it(c.label, async () => {
            const fs = filterShape(c);
            const xv = randomValues(size(c.x), 100 + i);
            const fv = randomValues(size(fs), 200 + i);
            const want = oracleConv(xv, c.x, fv, fs, c.stride, c.pad);
            const dyv = randomValues(size(want.shape), 300 + i);
            const before = tf.memory().numTensors;
            const x = tf.tensor5d(xv, c.x);
            const f = tf.tensor4d(fv, fs);
            const dy = tf.tensor5d(dyv, want.shape);
            const y = depthwiseConv3d(x, f, { strides: c.stride, padding: c.pad });
            expect(y.shape).toEqual(want.shape);
            expectClose(await read(y), want.values, 'y');

            const [dx, df] = tf.grads((a: Tensor, b: Tensor) =>
              depthwiseConv3d(a as Tensor5D, b as Tensor4D, { strides: c.stride, padding: c.pad }),
            )([x, f], dy);
            const wantDx = oracleConvTranspose(dyv, want.shape, fv, fs, c.stride, c.pad, convRemainder(c));
            expect(wantDx.shape).toEqual(c.x);
            expectClose(await read(dx!), wantDx.values, 'dx');
            expectClose(
              await read(df!),
              oracleConvFilterGrad(xv, c.x, dyv, want.shape, fs, c.stride, c.pad),
              'dfilter',
            );
            tf.dispose([x, f, dy, y, dx!, df!]);
            expect(tf.memory().numTensors).toBe(before);
          });
        });
      });

      it('maps n voxels to ceil(n / 2) in the MedNeXt down block (k = 3, 5, 7; stride 2, padding k//2)', () => {
        for (const k of [3, 5, 7]) {
          const y = depthwiseConv3d(tf.zeros([1, 8, 9, 5, 2]) as Tensor5D, tf.zeros([k, k, k, 2]) as Tensor4D, {
            strides: 2,
            padding: (k - 1) / 2,
          });
          expect(y.shape).toEqual([1, 4, 5, 3, 2]);
          y.dispose();
        }
      });

      describe('depthwiseConvTranspose3d forward and gradients vs the brute-force oracle', () => {
        TRANSPOSE_CASES.forEach((c, i) => {
          it(c.label, async () => {
            const fs = filterShape(c);
            const xv = randomValues(size(c.x), 400 + i);
            const fv = randomValues(size(fs), 500 + i);
            const want = oracleConvTranspose(xv, c.x, fv, fs, c.stride, c.pad, c.outputPadding);
            const gv = randomValues(size(want.shape), 600 + i);
            const x = tf.tensor5d(xv, c.x);
            const f = tf.tensor4d(fv, fs);
            const g = tf.tensor5d(gv, want.shape);
            const opts = { strides: c.stride, padding: c.pad, outputPadding: c.outputPadding };
            const y = depthwiseConvTranspose3d(x, f, opts);
            expect(y.shape).toEqual(want.shape);
            expectClose(await read(y), want.values, 'y');

            const [dx, df] = tf.grads((a: Tensor, b: Tensor) =>
              depthwiseConvTranspose3d(a as Tensor5D, b as Tensor4D, opts),
            )([x, f], g);
            const wantDx = oracleConv(gv, want.shape, fv, fs, c.stride, c.pad);
            expect(wantDx.shape).toEqual(c.x);
            expectClose(await read(dx!), wantDx.values, 'dx');
            // y is bilinear in (x, F) through the same (i, t, o) triples as the conv with g in the role of its input.
            expectClose(await read(df!), oracleConvFilterGrad(gv, want.shape, xv, c.x, fs, c.stride, c.pad), 'dfilter');
            tf.dispose([x, f, g, y, dx!, df!]);
          });
        });

        it('maps n voxels to 2n - 1 in the MedNeXt up block (k = 3, 5, 7; stride 2, padding k//2)', () => {
          for (const k of [3, 5, 7]) {
            const y = depthwiseConvTranspose3d(
              tf.zeros([1, 4, 5, 6, 2]) as Tensor5D,
              tf.zeros([k, k, k, 2]) as Tensor4D,
              {
                strides: 2,
                padding: (k - 1) / 2,
              },
            );
            expect(y.shape).toEqual([1, 7, 9, 11, 2]);
          }
        });
      });

      describe('against tf.conv3d / tf.conv3dTranspose with a block-diagonal filter (computed on cpu)', () => {
        DENSE_CONV_CASES.forEach((c, i) => {
          it(`conv ${c.label}: forward, input and filter gradients`, async () => {
            const want = denseConv[i]!;
            const x = tf.tensor5d(want.x, c.x);
            const f = tf.tensor4d(want.f, filterShape(c));
            const y = depthwiseConv3d(x, f, { strides: c.stride, padding: c.pad });
            expectClose(await read(y), want.y, 'y vs tf.conv3d');
            const [dx, df] = tf.grads((a: Tensor, b: Tensor) =>
              depthwiseConv3d(a as Tensor5D, b as Tensor4D, { strides: c.stride, padding: c.pad }),
            )([x, f], tf.tensor5d(want.dy, y.shape));
            expectClose(await read(dx!), want.dx, 'dx vs Conv3DBackpropInputV2');
            expectClose(await read(df!), want.df, 'dfilter vs Conv3DBackpropFilterV2');
          });
        });

        DENSE_TRANSPOSE_CASES.forEach((c, i) => {
          it(`transposed ${c.label}: forward`, async () => {
            const want = denseTranspose[i]!;
            const y = depthwiseConvTranspose3d(tf.tensor5d(want.x, c.x), tf.tensor4d(want.f, filterShape(c)), {
              strides: c.stride,
              padding: c.pad,
              outputPadding: c.outputPadding,
            });
            expectClose(await read(y), want.y, 'y vs tf.conv3dTranspose');
          });
        });
      });

      describe('gradients vs central finite differences (tiny shapes)', () => {
        const xs: Shape5 = [1, 3, 4, 5, 2];
        const fs: Shape4 = [3, 3, 3, 2];
        const ops = {
          depthwiseConv3d: (a: Tensor5D, b: Tensor4D) => depthwiseConv3d(a, b, { strides: 2, padding: 1 }),
          depthwiseConvTranspose3d: (a: Tensor5D, b: Tensor4D) =>
            depthwiseConvTranspose3d(a, b, { strides: 2, padding: 1, outputPadding: 1 }),
        };
        for (const [name, op] of Object.entries(ops)) {
          it(`${name}: d/dx and d/dfilter of sum(R * y)`, async () => {
            const xv = randomValues(size(xs), 11);
            const fv = randomValues(size(fs), 12);
            const outShape = op(tf.tensor5d(xv, xs), tf.tensor4d(fv, fs)).shape;
            const rv = randomValues(size(outShape), 13);
            const loss = async (xa: Float32Array, fa: Float32Array): Promise<number> => {
              const y = op(tf.tensor5d(xa, xs), tf.tensor4d(fa, fs));
              const v = await read(y);
              tf.dispose(y);
              let s = 0;
              for (let j = 0; j < v.length; j++) s += v[j]! * rv[j]!;
              return s;
            };
            const [gx, gf] = tf.grads((a: Tensor, b: Tensor) => op(a as Tensor5D, b as Tensor4D))(
              [tf.tensor5d(xv, xs), tf.tensor4d(fv, fs)],
              tf.tensor5d(rv, outShape),
            );
            const eps = 0.05;
            for (const [which, base, analytic] of [
              ['x', xv, await read(gx!)],
              ['filter', fv, await read(gf!)],
            ] as const) {
              const fd = new Float64Array(base.length);
              for (let j = 0; j < base.length; j++) {
                const plus = Float32Array.from(base);
                const minus = Float32Array.from(base);
                plus[j]! += eps;
                minus[j]! -= eps;
                fd[j] =
                  which === 'x'
                    ? ((await loss(plus, fv)) - (await loss(minus, fv))) / (2 * eps)
                    : ((await loss(xv, plus)) - (await loss(xv, minus))) / (2 * eps);
              }
              const { diff, scale } = maxAbsDiff(analytic, fd);
              expect(scale).toBeGreaterThan(0.1);
              // Float32 rounding of the perturbed inputs and outputs bounds the agreement, not the step.
              expect(diff, `${which}: |analytic - fd| ${diff}`).toBeLessThan(2e-3 * scale);
            }
          });
        }
      });
    },
  );
}

describe('registration and second-order gradients', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });
  afterAll(() => undefined);

  it('registers every kernel for cpu, wasm, tensorflow, webgl and webgpu, and a gradient for each', () => {
    for (const name of DEPTHWISE_CONV3D_KERNEL_NAMES) {
      for (const backendName of [...READBACK_BACKENDS, 'webgpu']) {
        expect(tf.getKernel(name, backendName), `${name} on ${backendName}`).toBeDefined();
      }
      expect(tf.getGradient(name), `gradient of ${name}`).toBeDefined();
    }
  });

  it('replaceKernel swaps in another implementation under the same name, and back', async () => {
    const original = tf.getKernel('DepthwiseConv3D', 'cpu')!;
    let calls = 0;
    replaceKernel({ ...original, kernelFunc: (args) => (calls++, original.kernelFunc(args)) });
    try {
      const y = depthwiseConv3d(tf.ones([1, 3, 3, 3, 1]) as Tensor5D, tf.ones([3, 3, 3, 1]) as Tensor4D, {
        padding: 1,
      });
      expect(calls).toBe(1);
      expect((await read(y))[13]).toBe(27);
    } finally {
      replaceKernel(original);
    }
    expect(tf.getKernel('DepthwiseConv3D', 'cpu')).toBe(original);
  });

  it('differentiates the input gradient again (d/dfilter of dx equals the filter gradient kernel)', async () => {
    const xs: Shape5 = [1, 5, 4, 6, 2];
    const fs: Shape4 = [3, 3, 3, 2];
    const xv = randomValues(size(xs), 21);
    const fv = randomValues(size(fs), 22);
    const x = tf.tensor5d(xv, xs);
    const dyShape: Shape5 = [1, 3, 2, 3, 2];
    const dyv = randomValues(size(dyShape), 23);
    const rv = randomValues(size(xs), 24);
    // dx(F) = BackpropInput(dy, F) is linear in F; its F-gradient against R is sum_o dy[o] R[o*s-p+t].
    const dfOfDx = tf.grad((f: Tensor) =>
      tf.grad((a: Tensor) => depthwiseConv3d(a as Tensor5D, f as Tensor4D, { strides: 2, padding: 1 }))(
        x,
        tf.tensor5d(dyv, dyShape),
      ),
    )(tf.tensor4d(fv, fs), tf.tensor5d(rv, xs));
    expectClose(await read(dfOfDx), oracleConvFilterGrad(rv, xs, dyv, dyShape, fs, t3(2), t3(1)), 'd/dF of dx');
  });
});

describe('argument errors name the op and the problem', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });
  const x = (): Tensor5D => tf.zeros([1, 4, 4, 4, 2]) as Tensor5D;
  const f = (): Tensor4D => tf.zeros([3, 3, 3, 2]) as Tensor4D;

  it('rejects wrong ranks, channel mismatches and dtypes', () => {
    expect(() => depthwiseConv3d(tf.zeros([4, 4, 4, 2]) as unknown as Tensor5D, f())).toThrow(
      /depthwiseConv3d: x must be 5-D/,
    );
    expect(() => depthwiseConv3d(x(), tf.zeros([3, 3, 2]) as unknown as Tensor4D)).toThrow(/filter must be 4-D/);
    expect(() => depthwiseConv3d(x(), tf.zeros([3, 3, 3, 5]) as Tensor4D)).toThrow(/filter has 5 channels but x has 2/);
    expect(() => depthwiseConv3d(tf.zeros([1, 4, 4, 4, 2], 'int32') as Tensor5D, f())).toThrow(
      /x must be float32; got int32/,
    );
  });

  it('rejects bad strides, padding, output padding and empty outputs', () => {
    expect(() => depthwiseConv3d(x(), f(), { strides: 0 })).toThrow(/'strides' must be an integer >= 1/);
    expect(() => depthwiseConv3d(x(), f(), { padding: [1, 1] as unknown as V3 })).toThrow(/'padding' must be/);
    expect(() => depthwiseConv3d(tf.zeros([1, 2, 4, 4, 2]) as Tensor5D, f())).toThrow(/axis D is empty/);
    expect(() => depthwiseConvTranspose3d(x(), f(), { strides: 2, outputPadding: 2 })).toThrow(
      /outputPadding \(2,2,2\) must be smaller than strides \(2,2,2\)/,
    );
    expect(() => depthwiseConvTranspose3d(x(), f(), { padding: 4 })).toThrow(/axis D would have length -2/);
  });
});

describe('host-side kernels on a backend with only readSync and write (as tfjs-node)', () => {
  it('computes the forward conv through the generic KernelBackend methods', () => {
    const store = new Map<object, Float32Array>();
    const fakeNode = {
      readSync: (dataId: object) => store.get(dataId),
      write: (values: Float32Array) => {
        const id = {};
        store.set(id, values);
        return id;
      },
    };
    const info = (values: Float32Array, shape: number[]) => ({
      dataId: fakeNode.write(values),
      shape,
      dtype: 'float32' as const,
    });
    const c = CONV_CASES[1]!;
    const fs = filterShape(c);
    const xv = randomValues(size(c.x), 31);
    const fv = randomValues(size(fs), 32);
    const forward = readbackKernelConfigs('tensorflow').find((k) => k.kernelName === 'DepthwiseConv3D')!;
    const out = forward.kernelFunc({
      inputs: { x: info(xv, c.x), filter: info(fv, fs) },
      backend: fakeNode as never,
      attrs: { strides: c.stride, pad: c.pad },
    }) as { dataId: object; shape: number[] };
    const want = oracleConv(xv, c.x, fv, fs, c.stride, c.pad);
    expect(out.shape).toEqual(want.shape);
    expectClose(store.get(out.dataId)!, want.values, 'y');
  });

  it('says which backend methods are missing', () => {
    const forward = readbackKernelConfigs('x').find((k) => k.kernelName === 'DepthwiseConv3D')!;
    expect(() => forward.kernelFunc({ inputs: {}, backend: {} as never, attrs: {} })).toThrow(
      /DepthwiseConv3D: this backend cannot read tensor data synchronously/,
    );
  });
});
