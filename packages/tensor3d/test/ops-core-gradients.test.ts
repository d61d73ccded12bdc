/**
 * tfjs-core's standard gradients (absent from its Node bundle) are registered by the compute layer,
 * so training code can combine them with the depthwise ops.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/compute/index.js';
import { depthwiseConv3d, hasCoreGradients, registerCoreGradients } from '../src/ops/index.js';
import { oracleConvFilterGrad, randomValues } from './helpers/depthwise-oracle.js';

describe('registerCoreGradients', () => {
  it('has the gradients of tfjs-core ops as soon as the package is imported', async () => {
    await selectBackend('cpu');
    expect(hasCoreGradients()).toBe(true);
    await expect(registerCoreGradients()).resolves.toBeUndefined();
    for (const kernel of ['Sum', 'Mean', 'Multiply', 'Square', 'Erf', 'BatchMatMul', 'PadV2', 'Slice', 'Reshape']) {
      expect(tf.getGradient(kernel), kernel).toBeDefined();
    }
  });

  it('gives exact gradients through tfjs ops: d/dx sum(x^2 erf(x)) = 2x erf(x) + x^2 2/sqrt(pi) exp(-x^2)', async () => {
    await registerCoreGradients();
    const xs = [-1.5, 0.25, 2];
    const g = await tf
      .grad((x: tf.Tensor) => tf.sum(tf.mul(tf.square(x), tf.erf(x))))(tf.tensor1d(xs))
      .data();
    const erf = await tf.erf(tf.tensor1d(xs)).data();
    xs.forEach((x, i) => {
      const want = 2 * x * erf[i]! + ((x * x * 2) / Math.sqrt(Math.PI)) * Math.exp(-x * x);
      expect(g[i]).toBeCloseTo(want, 5);
    });
  });

  it('lets tf.variableGrads combine core ops with depthwiseConv3d (d/dF of sum(R * y))', async () => {
    await registerCoreGradients();
    const xs: [number, number, number, number, number] = [1, 4, 5, 3, 2];
    const xv = randomValues(40 * 3, 41);
    const fv = randomValues(27 * 2, 42);
    const rv = randomValues(40 * 3, 43);
    const f = tf.variable(tf.tensor4d(fv, [3, 3, 3, 2]));
    const { grads } = tf.variableGrads(() =>
      tf.sum(
        tf.mul(depthwiseConv3d(tf.tensor5d(xv, xs), f as unknown as Tensor4D, { padding: 1 }), tf.tensor5d(rv, xs)),
      ),
    );
    const want = oracleConvFilterGrad(xv, xs, rv, xs, [3, 3, 3, 2], [1, 1, 1], [1, 1, 1]);
    const got = await grads[f.name]!.data();
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 4);
    f.dispose();
  });
});
