import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchDiceFocalLoss, grn } from '../src/index.js';
import { useBackend } from './helpers.js';

/** Central finite differences in float64 arithmetic on top of float32 evaluations. */
function numericGrad(f: (x: tf.Tensor) => tf.Scalar, x0: Float32Array, shape: number[], h = 1e-2): Float64Array {
  const out = new Float64Array(x0.length);
  for (let i = 0; i < x0.length; i++) {
    const plus = Float32Array.from(x0);
    const minus = Float32Array.from(x0);
    plus[i] += h;
    minus[i] -= h;
    const fp = tf.tidy(() => f(tf.tensor(plus, shape)).dataSync()[0]);
    const fm = tf.tidy(() => f(tf.tensor(minus, shape)).dataSync()[0]);
    out[i] = (fp - fm) / ((plus[i] - minus[i]) as number);
  }
  return out;
}

function check(f: (x: tf.Tensor) => tf.Scalar, shape: number[], seed: number, tol: number): void {
  const x0 = tf.randomNormal(shape, 0, 1, 'float32', seed).dataSync() as Float32Array;
  const analytic = tf.grad(f)(tf.tensor(x0, shape)).dataSync();
  const numeric = numericGrad(f, x0, shape);
  let scale = 0;
  for (const v of numeric) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < x0.length; i++)
    expect(Math.abs(analytic[i] - numeric[i]), `element ${i}`).toBeLessThan(tol * scale + 1e-4);
}

// tfjs's gradients (registered when @mednext-ts/tensor3d is imported) through our losses and GRN.
describe('gradients of the losses and GRN (finite differences)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('batch Dice + focal loss (Pow, Sigmoid, Log1p, Abs, Relu, RealDiv, Sum, Mean)', () => {
    const target = tf.tensor([1, 0, 0, 1, 1, 0, 1, 0], [2, 1, 2, 1, 2]);
    check((x) => batchDiceFocalLoss(x, target), [2, 1, 2, 1, 2], 11, 2e-3);
  });

  it('GRN (Sqrt, Square, Sum, Mean, broadcasting Multiply/Add)', () => {
    const gamma = tf.tensor([0.5, -0.3, 0.8], [1, 3, 1, 1, 1]);
    const beta = tf.tensor([0.1, 0.2, -0.1], [1, 3, 1, 1, 1]);
    const w = tf.randomNormal([1, 2, 2, 2, 3], 0, 1, 'float32', 5);
    check((x) => tf.sum(tf.mul(grn(x as tf.Tensor5D, gamma, beta), w)), [1, 2, 2, 2, 3], 12, 2e-3);
  });

  it('SquaredDifference, Pow with a tensor exponent, Rsqrt, Erf, Transpose, Pad, Slice, Stack, Concat', () => {
    const other = tf.tensor([0.3, -0.2, 0.9, 1.1, -0.4, 0.5], [2, 3]);
    check(
      (x) => {
        const a = tf.squaredDifference(x, other);
        const b = tf.pow(tf.add(tf.abs(x), 0.5), tf.add(tf.abs(other), 1));
        const c = tf.rsqrt(tf.add(tf.square(x), 1));
        const d = tf.erf(tf.transpose(x));
        const e = tf.slice(
          tf.pad(tf.stack([x, tf.slice(tf.concat([tf.mul(x, 2), x], 0), [1, 0], [2, 3])], 1), [
            [1, 0],
            [0, 1],
            [2, 0],
          ]),
          [1, 0, 1],
          [2, 2, 3],
        );
        return tf.add(
          tf.add(tf.sum(a), tf.sum(b)),
          tf.add(tf.add(tf.sum(c), tf.sum(tf.mul(d, d))), tf.sum(tf.square(e))),
        );
      },
      [2, 3],
      13,
      2e-3,
    );
  });
});
