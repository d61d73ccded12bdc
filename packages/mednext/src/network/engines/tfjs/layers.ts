/**
 * Functional building blocks of MedNeXt v1 on NDHWC tensors, taking weights in PyTorch layout
 * (so gradients come out in the layout of the official state dict).
 *
 * Portability rule: apart from the depthwise convolutions, every op runs on views of rank ≤ 4
 * (`[N, voxels, C]` or `[M, C]`; reshapes are free). tfjs-webgpu 4.22 generates invalid WGSL for
 * rank-5 broadcasting/padding programs and XNNPACK (wasm) pads at most 6 dims.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GRN_EPS } from '../../../model/architecture.js';

/** Looks up a parameter by its official name. */
export type ParamGetter = (name: string) => tf.Tensor;

/** `[N, D, H, W, C]` → `[N, D·H·W, C]`. */
function perSample(x: tf.Tensor): tf.Tensor3D {
  return tf.reshape(x, [x.shape[0], -1, x.shape[x.shape.length - 1]]);
}

/** Regular 1x1x1 conv: weight `O x I x 1 x 1 x 1`. */
export function pointwise(x: tf.Tensor5D, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor5D {
  const [o, i] = weight.shape;
  let y = tf.matMul(tf.reshape(x, [-1, i]), tf.reshape(weight, [o, i]), false, true) as tf.Tensor;
  if (bias) y = tf.add(y, bias);
  return tf.reshape(y, [x.shape[0], x.shape[1], x.shape[2], x.shape[3], o]);
}

/** Transposed 1x1x1 conv with stride 1: weight `I x O x 1 x 1 x 1`. */
export function pointwiseTransposed(x: tf.Tensor5D, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor5D {
  const [i, o] = weight.shape;
  let y = tf.matMul(tf.reshape(x, [-1, i]), tf.reshape(weight, [i, o])) as tf.Tensor;
  if (bias) y = tf.add(y, bias);
  return tf.reshape(y, [x.shape[0], x.shape[1], x.shape[2], x.shape[3], o]);
}

/** PyTorch depthwise weight `C x 1 x k x k x k` → tfjs filter `[k, k, k, C]`. */
export function depthwiseFilter(weight: tf.Tensor): tf.Tensor4D {
  const [c, , k] = weight.shape;
  return tf.reshape(tf.transpose(tf.reshape(weight, [c, k * k * k])), [k, k, k, c]);
}

/** Exact (erf) GELU: 0.5 x (1 + erf(x / sqrt 2)). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/**
 * Global response normalisation (ConvNeXt-V2) of a channels-last tensor `[N, ..., E]`;
 * gamma/beta as stored (`1 x E x 1 x 1 x 1`).
 */
export function grn<T extends tf.Tensor>(h: T, gamma: tf.Tensor, beta: tf.Tensor): T {
  const v = perSample(h);
  const e = v.shape[2];
  const g = tf.sqrt(tf.sum(tf.square(v), 1, true));
  const s = tf.div(g, tf.add(tf.mean(g, 2, true), GRN_EPS));
  const gm = tf.reshape(gamma, [e]);
  const bt = tf.reshape(beta, [e]);
  return tf.reshape(tf.add(tf.add(tf.mul(gm, tf.mul(v, s)), bt), v), h.shape) as T;
}

/**
 * Applies `f` to each spatial axis (D, H, W) in turn, on the `[before, n, after]` view around it, and reshapes its
 * `[before, n', after]` result back. Per-axis work stays at rank ≤ 4: XNNPACK (wasm) pads at most 6 dims and
 * tfjs-webgpu indexes at most rank 6, so rank-8 reshapes are not portable.
 * @param release dispose the input and the per-axis intermediates as soon as they are used (only outside a
 *   gradient tape)
 */
export function alongSpatialAxes(
  x: tf.Tensor5D,
  f: (view: tf.Tensor3D, axis: number) => tf.Tensor3D,
  release = false,
): tf.Tensor5D {
  let y: tf.Tensor = x;
  for (let axis = 1; axis <= 3; axis++) {
    const before = y.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const after = y.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const view = tf.reshape(y, [before, y.shape[axis], after]) as tf.Tensor3D;
    const out = f(view, axis);
    const next = tf.reshape(
      out,
      y.shape.map((d, i) => (i === axis ? out.shape[1] : d)),
    );
    // Reshapes share their data: it is freed once every view of it is disposed.
    if (release) tf.dispose([y, view, out]);
    y = next;
  }
  return y as tf.Tensor5D;
}

/**
 * One zero voxel at the front of D, H and W (the up block's asymmetric padding).
 * @param release dispose the input and the per-axis intermediates as soon as they are used (only
 *   outside a gradient tape)
 */
export function padFront(x: tf.Tensor5D, release = false): tf.Tensor5D {
  const front: Array<[number, number]> = [
    [0, 0],
    [1, 0],
    [0, 0],
  ];
  return alongSpatialAxes(x, (v) => tf.pad(v, front), release);
}

/** Keeps voxels 0, 2, 4, ... on every spatial axis (a stride-2 1x1x1 conv's sampling); odd sizes too. */
export function subsample2(x: tf.Tensor5D): tf.Tensor5D {
  return alongSpatialAxes(x, (v) => {
    const [before, n, after] = v.shape;
    const half = Math.ceil(n / 2);
    const even =
      n % 2 === 0
        ? v
        : tf.pad(v, [
            [0, 0],
            [0, 1],
            [0, 0],
          ]);
    const picked = tf.slice(tf.reshape(even, [before, half, 2, after]), [0, 0, 0, 0], [before, half, 1, after]);
    return tf.reshape(picked, [before, half, after]);
  });
}

/** Places x[a] at index 2a along every spatial axis, zeros between: n → 2n-1 (transposed stride 2, k 1). */
export function spread2(x: tf.Tensor5D): tf.Tensor5D {
  return alongSpatialAxes(x, (v) => {
    const [before, n, after] = v.shape;
    const interleaved = tf.reshape(tf.stack([v, tf.zerosLike(v)], 2), [before, 2 * n, after]);
    return tf.slice(interleaved, [0, 0, 0], [before, 2 * n - 1, after]) as tf.Tensor3D;
  });
}
