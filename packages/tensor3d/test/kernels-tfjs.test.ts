import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D, Tensor5D } from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/compute/index.js';
import { depthwiseConv3d, depthwiseConvTranspose3d } from '../src/ops/index.js';
import { registerCoreGradients } from '../src/ops/core-gradients.js';
import {
  createKernelRuntimeSync,
  enableFastKernels,
  fusedBlock,
  setKernelRuntime,
  getKernelRuntime,
  registerFastKernels,
  unregisterFastKernels,
} from '../src/kernels/index.js';

function random(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

async function values(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs `f` with the reference kernels and with the fast ones; returns both outputs and the fast dispatch count. */
async function both(f: () => tf.Tensor): Promise<{ ref: Float32Array; fast: Float32Array; dispatched: number }> {
  unregisterFastKernels();
  const ref = await values(tf.tidy(f));
  registerFastKernels();
  const before = getKernelRuntime().dispatches;
  const fast = await values(tf.tidy(f));
  return { ref, fast, dispatched: getKernelRuntime().dispatches - before };
}

await registerCoreGradients();
afterAll(() => unregisterFastKernels());

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`fast kernels registered on tfjs ${backend}`, () => {
    it('selects the backend', async () => {
      await selectBackend(backend);
      expect(tf.getBackend()).toBe(backend);
    });
    const cases = [
      { k: 3, s: 1, shape: [1, 7, 6, 9, 8] },
      { k: 5, s: 2, shape: [2, 9, 7, 5, 6] },
      { k: 7, s: 1, shape: [1, 5, 8, 7, 4] },
    ];
    for (const { k, s, shape } of cases) {
      it(`depthwiseConv3d k${k} s${s} and its gradients match the reference kernels`, async () => {
        const c = shape[4];
        const x = random(shape, 1) as Tensor5D;
        const f = random([k, k, k, c], 2) as Tensor4D;
        const fwd = await both(() => depthwiseConv3d(x, f, { strides: s, padding: k >> 1 }));
        expect(fwd.dispatched).toBeGreaterThan(0);
        expect(maxAbsDiff(fwd.fast, fwd.ref)).toBeLessThan(1e-5 * k * k);
        // dx goes through DepthwiseConv3DBackpropInput (flipped-kernel forward for s1, transposed for s2)
        const dx = await both(() =>
          tf.grad((xx: tf.Tensor) =>
            tf.sum(tf.square(depthwiseConv3d(xx as Tensor5D, f, { strides: s, padding: k >> 1 }))),
          )(x),
        );
        expect(dx.dispatched).toBeGreaterThan(0);
        expect(maxAbsDiff(dx.fast, dx.ref)).toBeLessThan(1e-4 * k * k);
        // dW goes through DepthwiseConv3DBackpropFilter
        const dw = await both(() =>
          tf.grad((ff: tf.Tensor) =>
            tf.sum(tf.square(depthwiseConv3d(x, ff as Tensor4D, { strides: s, padding: k >> 1 }))),
          )(f),
        );
        expect(dw.dispatched).toBeGreaterThan(0);
        expect(maxAbsDiff(dw.fast, dw.ref)).toBeLessThan(1e-3);
      });
    }
    it('depthwiseConvTranspose3d stride 2 (up block) matches the reference kernel', async () => {
      const x = random([1, 5, 6, 7, 8], 3) as Tensor5D;
      const f = random([3, 3, 3, 8], 4) as Tensor4D;
      const r = await both(() => depthwiseConvTranspose3d(x, f, { strides: 2, padding: 1 }));
      expect(r.dispatched).toBeGreaterThan(0);
      expect(r.fast.length).toBe(9 * 11 * 13 * 8);
      expect(maxAbsDiff(r.fast, r.ref)).toBeLessThan(1e-5);
      // its filter gradient is the forward conv's BackpropFilter with x and dy swapped
      const g = await both(() =>
        tf.grad((ff: tf.Tensor) =>
          tf.sum(tf.square(depthwiseConvTranspose3d(x, ff as Tensor4D, { strides: 2, padding: 1 }))),
        )(f),
      );
      expect(g.dispatched).toBeGreaterThan(0);
      expect(maxAbsDiff(g.fast, g.ref)).toBeLessThan(1e-3);
    });
    it('matMul (pointwise conv, transposed weight) matches tfjs', async () => {
      const a = random([1, 301, 40], 5);
      const w = random([36, 40], 6);
      const r = await both(() => tf.matMul(a, w, false, true));
      expect(r.dispatched).toBeGreaterThan(0);
      expect(maxAbsDiff(r.fast, r.ref)).toBeLessThan(1e-5);
      const w2 = random([40, 36], 7);
      const r2 = await both(() => tf.matMul(tf.reshape(a, [301, 40]), w2));
      expect(maxAbsDiff(r2.fast, r2.ref)).toBeLessThan(1e-5);
    });
    it('outputs written in place keep the backend memory balanced (forward, gradients, matMul)', async () => {
      registerFastKernels();
      const x = random([2, 6, 5, 7, 8], 12) as Tensor5D;
      const f = random([3, 3, 3, 8], 13) as Tensor4D;
      const w = random([8, 12], 14) as tf.Tensor2D;
      const run = (): void => {
        const [dx, df] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
          tf.sum(
            tf.matMul(
              tf.reshape(depthwiseConv3d(xx as Tensor5D, ff as Tensor4D, { strides: 1, padding: 1 }), [-1, 8]),
              w,
            ),
          ),
        )([x, f]);
        tf.dispose([dx, df]);
      };
      run();
      const before = tf.memory();
      run();
      run();
      const after = tf.memory();
      expect(after.numTensors).toBe(before.numTensors);
      expect(after.numBytes).toBe(before.numBytes);
      tf.dispose([x, f, w]);
    });
    it('falls back to the replaced kernel where the fast path does not apply', async () => {
      const x = random([1, 6, 6, 6, 4], 8) as Tensor5D;
      const f = random([3, 3, 3, 4], 9) as Tensor4D;
      const r = await both(() => depthwiseConv3d(x, f, { strides: [1, 2, 1], padding: 1 }));
      expect(r.dispatched).toBe(0);
      expect(maxAbsDiff(r.fast, r.ref)).toBe(0);
    });
  });
}

describe('fused block on a tfjs tensor', () => {
  it('matches the block composed of tfjs ops (batch 2, cpu backend)', async () => {
    await selectBackend('cpu');
    const [n, d, h, w, c, e, k] = [2, 5, 6, 7, 8, 16, 3];
    const t = (shape: number[], seed: number, scale = 1): tf.Tensor => tf.mul(random(shape, seed), scale);
    const conv1 = t([c, 1, k, k, k], 1, 0.3);
    const conv1b = t([c], 2);
    const gamma = tf.add(t([c], 3, 0.3), 1);
    const beta = t([c], 4, 0.3);
    const conv2 = t([e, c, 1, 1, 1], 5, 0.35);
    const conv2b = t([e], 6, 0.1);
    const conv3 = t([c, e, 1, 1, 1], 7, 0.25);
    const conv3b = t([c], 8, 0.1);
    const x = t([n, d, h, w, c], 9) as Tensor5D;
    const arr = async (v: tf.Tensor): Promise<Float32Array> => (await v.data()) as Float32Array;
    // the kernels' channels-last layouts: filter [k^3, C], expand [C, E], compress [E, C]
    const weights = {
      k,
      dwFilter: await arr(tf.transpose(tf.reshape(conv1, [c, k * k * k]))),
      dwBias: await arr(conv1b),
      gamma: await arr(gamma),
      beta: await arr(beta),
      w2: await arr(tf.transpose(tf.reshape(conv2, [e, c]))),
      b2: await arr(conv2b),
      w3: await arr(tf.transpose(tf.reshape(conv3, [c, e]))),
      b3: await arr(conv3b),
    };
    const got = fusedBlock(x, weights, { kind: 'block', addInput: true });
    expect(got).not.toBeNull();
    const want = tf.tidy(() => {
      const filter = tf.reshape(tf.transpose(tf.reshape(conv1, [c, k * k * k])), [k, k, k, c]) as Tensor4D;
      let y: tf.Tensor = tf.add(depthwiseConv3d(x, filter, { padding: 1 }), conv1b);
      const { mean, variance } = tf.moments(y, [1, 2, 3], true);
      y = tf.add(tf.mul(tf.mul(tf.sub(y, mean), tf.rsqrt(tf.add(variance, 1e-5))), gamma), beta);
      y = tf.add(tf.matMul(tf.reshape(y, [-1, c]), tf.reshape(conv2, [e, c]), false, true), conv2b);
      y = tf.mul(tf.mul(y, 0.5), tf.add(tf.erf(tf.mul(y, Math.SQRT1_2)), 1));
      y = tf.add(tf.matMul(y, tf.reshape(conv3, [c, e]), false, true), conv3b);
      return tf.add(tf.reshape(y, [n, d, h, w, c]), x);
    });
    expect(got!.shape).toEqual([n, d, h, w, c]);
    expect(maxAbsDiff(await values(got!), await values(want))).toBeLessThan(2e-5);
  });
});

describe('enableFastKernels', () => {
  it('registers the kernels with a two-thread runtime that serves synchronous tfjs calls', async () => {
    await selectBackend('cpu');
    unregisterFastKernels();
    const { runtime, registered } = await enableFastKernels({ threads: 2 });
    try {
      expect(registered).toContain('BatchMatMul@cpu');
      expect(registered).toContain('DepthwiseConv3DBackpropFilter@cpu');
      expect(runtime.threads).toBe(2);
      const a = random([1, 257, 32], 11);
      const w = random([32, 48], 12);
      const before = runtime.dispatches;
      const fast = await values(tf.matMul(a, w));
      expect(runtime.dispatches).toBe(before + 1);
      unregisterFastKernels();
      const ref = await values(tf.matMul(a, w));
      expect(maxAbsDiff(fast, ref)).toBeLessThan(1e-5);
    } finally {
      await runtime.dispose();
      setKernelRuntime(createKernelRuntimeSync());
    }
  });
});
