/**
 * Functional building blocks of MedNeXt v1 on NDHWC tensors, taking weights in PyTorch layout
 * (so gradients come out in the layout of the official state dict).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BlockSpec } from './architecture.js';
import { depthwiseConv3d, depthwiseConvTranspose3d } from './ops.js';

/** Looks up a parameter by its official name. */
export type ParamGetter = (name: string) => tf.Tensor;

/** GroupNorm epsilon of the official network. */
export const NORM_EPS = 1e-5;
/** GRN epsilon (added to the channel mean of the L2 norms). */
export const GRN_EPS = 1e-6;

/** `[..., C]` → `[M, C]` matrix for a channel GEMM, and back. */
function asMatrix(x: tf.Tensor): tf.Tensor2D {
  return tf.reshape(x, [-1, x.shape[x.shape.length - 1]]);
}

/** Regular 1x1x1 conv: weight `O x I x 1 x 1 x 1`. */
export function pointwise(x: tf.Tensor5D, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor5D {
  const [o, i] = weight.shape;
  let y = tf.matMul(asMatrix(x), tf.reshape(weight, [o, i]), false, true) as tf.Tensor;
  if (bias) y = tf.add(y, bias);
  return tf.reshape(y, [x.shape[0], x.shape[1], x.shape[2], x.shape[3], o]);
}

/** Transposed 1x1x1 conv with stride 1: weight `I x O x 1 x 1 x 1`. */
export function pointwiseTransposed(x: tf.Tensor5D, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor5D {
  const [i, o] = weight.shape;
  let y = tf.matMul(asMatrix(x), tf.reshape(weight, [i, o])) as tf.Tensor;
  if (bias) y = tf.add(y, bias);
  return tf.reshape(y, [x.shape[0], x.shape[1], x.shape[2], x.shape[3], o]);
}

/** PyTorch depthwise weight `C x 1 x k x k x k` → tfjs filter `[k, k, k, C]`. */
export function depthwiseFilter(weight: tf.Tensor): tf.Tensor4D {
  const [c, , k] = weight.shape;
  return tf.reshape(tf.transpose(tf.reshape(weight, [c, k * k * k])), [k, k, k, c]);
}

/** GroupNorm with one group per channel (instance norm, biased variance), affine. */
export function channelNorm(x: tf.Tensor5D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor5D {
  const { mean, variance } = tf.moments(x, [1, 2, 3], true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, NORM_EPS)));
  return tf.add(tf.mul(normed, gamma), beta) as tf.Tensor5D;
}

/** Exact (erf) GELU: 0.5 x (1 + erf(x / sqrt 2)). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** Global response normalisation (ConvNeXt-V2), gamma/beta shaped `1 x E x 1 x 1 x 1`. */
export function grn(h: tf.Tensor5D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor5D {
  const e = h.shape[4];
  const g = tf.sqrt(tf.sum(tf.square(h), [1, 2, 3], true));
  const s = tf.div(g, tf.add(tf.mean(g, 4, true), GRN_EPS));
  const gm = tf.reshape(gamma, [e]);
  const bt = tf.reshape(beta, [e]);
  return tf.add(tf.add(tf.mul(gm, tf.mul(h, s)), bt), h) as tf.Tensor5D;
}

/** Keeps voxels 0, 2, 4, ... on every spatial axis (a stride-2 1x1x1 conv's sampling). */
export function subsample2(x: tf.Tensor5D): tf.Tensor5D {
  const [n, d, h, w, c] = x.shape;
  const [od, oh, ow] = [d, h, w].map((v) => Math.ceil(v / 2));
  const padded = tf.pad(x, [
    [0, 0],
    [0, 2 * od - d],
    [0, 2 * oh - h],
    [0, 2 * ow - w],
    [0, 0],
  ]);
  const split = tf.reshape(padded, [n, od, 2, oh, 2, ow, 2, c]);
  const picked = tf.slice(split, [0, 0, 0, 0, 0, 0, 0, 0], [n, od, 1, oh, 1, ow, 1, c]);
  return tf.reshape(picked, [n, od, oh, ow, c]);
}

/** Places x[a] at index 2a along every spatial axis, zeros between: n → 2n-1 (transposed stride 2, k 1). */
export function spread2(x: tf.Tensor5D): tf.Tensor5D {
  let y: tf.Tensor = x;
  for (let axis = 1; axis <= 3; axis++) {
    const shape = [...y.shape];
    const stacked = tf.stack([y, tf.zerosLike(y)], axis + 1);
    const merged = tf.reshape(
      stacked,
      shape.map((v, i) => (i === axis ? 2 * v : v)),
    );
    y = tf.slice(
      merged,
      shape.map(() => 0),
      shape.map((v, i) => (i === axis ? 2 * v - 1 : v)),
    );
  }
  return y as tf.Tensor5D;
}

/** Runs one MedNeXt block (plain, down or up) on NDHWC input. */
export function runBlock(x: tf.Tensor5D, b: BlockSpec, p: ParamGetter): tf.Tensor5D {
  const pre = b.name;
  const filter = depthwiseFilter(p(`${pre}.conv1.weight`));
  const pad = Math.floor(b.kernel / 2);
  let h: tf.Tensor5D;
  if (b.kind === 'up') h = depthwiseConvTranspose3d(x, filter, { strides: 2, padding: pad, outputPadding: 0 });
  else h = depthwiseConv3d(x, filter, { strides: b.kind === 'down' ? 2 : 1, padding: pad });
  h = tf.add(h, p(`${pre}.conv1.bias`));
  h = channelNorm(h, p(`${pre}.norm.weight`), p(`${pre}.norm.bias`));
  h = gelu(pointwise(h, p(`${pre}.conv2.weight`), p(`${pre}.conv2.bias`))) as tf.Tensor5D;
  if (b.grn) h = grn(h, p(`${pre}.grn_gamma`), p(`${pre}.grn_beta`));
  h = pointwise(h, p(`${pre}.conv3.weight`), p(`${pre}.conv3.bias`));
  if (b.kind === 'block') return b.residual ? tf.add(x, h) : h;
  if (b.kind === 'down') {
    if (!b.residual) return h;
    return tf.add(h, pointwise(subsample2(x), p(`${pre}.res_conv.weight`), p(`${pre}.res_conv.bias`)));
  }
  // Up block: main and residual paths are (2n-1)^3; both get one zero voxel at the front of each axis.
  if (b.residual) {
    const r = spread2(pointwiseTransposed(x, p(`${pre}.res_conv.weight`), null));
    h = tf.add(h, tf.add(r, p(`${pre}.res_conv.bias`)));
  }
  return tf.pad(h, [
    [0, 0],
    [1, 0],
    [1, 0],
    [1, 0],
    [0, 0],
  ]);
}
