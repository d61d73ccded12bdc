/**
 * TEMPORARY depthwise 3-D convolutions built from tfjs's depthwiseConv2d (one 2-D depthwise conv
 * per depth tap, summed), used until @mednext-ts/tensor3d ships its own ops. Gradients come from
 * tfjs's built-in ops. Same semantics as PyTorch `groups = C`.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Options of the depthwise convolutions. */
export interface DepthwiseOptions {
  strides: number;
  padding: number;
}

/** Keeps every `s`-th slice along `axis` (1..3) starting at 0: pads the end so the length divides. */
function subsampleAxis(x: tf.Tensor5D, axis: number, s: number, count: number): tf.Tensor5D {
  if (s === 1) return tf.slice(x, [0, 0, 0, 0, 0].map((_, i) => 0), x.shape.map((d, i) => (i === axis ? count : d)));
  const need = count * s;
  const len = x.shape[axis];
  let y: tf.Tensor5D = x;
  if (len < need) {
    const pads = [0, 0, 0, 0, 0].map((_, i) => (i === axis ? [0, need - len] : [0, 0])) as Array<[number, number]>;
    y = tf.pad(y, pads);
  } else if (len > need) {
    y = tf.slice(y, [0, 0, 0, 0, 0], y.shape.map((d, i) => (i === axis ? need : d)));
  }
  const shape = [...y.shape] as number[];
  const split = [...shape.slice(0, axis), count, s, ...shape.slice(axis + 1)];
  const r = tf.reshape(y, split);
  const begin = split.map(() => 0);
  const size = split.map((d, i) => (i === axis + 1 ? 1 : d));
  return tf.reshape(tf.slice(r, begin, size), shape.map((d, i) => (i === axis ? count : d))) as tf.Tensor5D;
}

/** Depthwise 3-D cross-correlation, x NDHWC, filter [k,k,k,C], zero padding on every side. */
export function depthwiseConv3d(x: tf.Tensor5D, filter: tf.Tensor4D, opts: DepthwiseOptions): tf.Tensor5D {
  return tf.tidy(() => {
    const [n, d, h, w, c] = x.shape;
    const [kd, kh, kw] = filter.shape;
    const { strides: s, padding: p } = opts;
    const od = Math.floor((d + 2 * p - kd) / s) + 1;
    const oh = Math.floor((h + 2 * p - kh) / s) + 1;
    const ow = Math.floor((w + 2 * p - kw) / s) + 1;
    const xp = tf.pad(x, [
      [0, 0],
      [p, p],
      [p, p],
      [p, p],
      [0, 0],
    ]);
    const hp = h + 2 * p;
    const wp = w + 2 * p;
    let acc: tf.Tensor | null = null;
    for (let t = 0; t < kd; t++) {
      const shifted = tf.slice(xp, [0, t, 0, 0, 0], [n, d + 2 * p - t, hp, wp, c]);
      const planes = subsampleAxis(shifted, 1, s, od);
      const f2 = tf.reshape(tf.slice(filter, [t, 0, 0, 0], [1, kh, kw, c]), [kh, kw, c, 1]) as tf.Tensor4D;
      const y = tf.depthwiseConv2d(tf.reshape(planes, [n * od, hp, wp, c]) as tf.Tensor4D, f2, [s, s], 'valid');
      const y5 = tf.reshape(y, [n, od, oh, ow, c]);
      acc = acc === null ? y5 : tf.add(acc, y5);
    }
    return acc as tf.Tensor5D;
  });
}

/** Inserts a zero after every element along `axis` and drops the last one (length 2n-1). */
function dilateAxis(x: tf.Tensor5D, axis: number): tf.Tensor5D {
  const shape = [...x.shape] as number[];
  const stacked = tf.stack([x, tf.zerosLike(x)], axis + 1);
  const merged = tf.reshape(stacked, shape.map((d, i) => (i === axis ? 2 * d : d)));
  return tf.slice(merged, [0, 0, 0, 0, 0], shape.map((d, i) => (i === axis ? 2 * d - 1 : d))) as tf.Tensor5D;
}

/** Depthwise transposed 3-D convolution (PyTorch scatter form), stride 2 only, output padding 0. */
export function depthwiseConvTranspose3d(
  x: tf.Tensor5D,
  filter: tf.Tensor4D,
  opts: DepthwiseOptions & { outputPadding?: number },
): tf.Tensor5D {
  if (opts.strides !== 2 || (opts.outputPadding ?? 0) !== 0) throw new Error('fallback supports stride 2 only');
  return tf.tidy(() => {
    const k = filter.shape[0];
    const dil = dilateAxis(dilateAxis(dilateAxis(x, 1), 2), 3);
    const flipped = tf.reverse(filter, [0, 1, 2]) as tf.Tensor4D;
    return depthwiseConv3d(dil, flipped, { strides: 1, padding: k - 1 - opts.padding });
  });
}
