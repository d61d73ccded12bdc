/**
 * Functional building blocks of MedNeXt v1 on NDHWC tensors, taking weights in PyTorch layout
 * (so gradients come out in the layout of the official state dict).
 *
 * Portability rule: apart from the depthwise convolutions, every op runs on views of rank ≤ 4
 * (`[N, voxels, C]` or `[M, C]`; reshapes are free). tfjs-webgpu 4.22 generates invalid WGSL for
 * rank-5 broadcasting/padding programs and XNNPACK (wasm) pads at most 6 dims.
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

/** `[N, D, H, W, C]` → `[N, D·H·W, C]`. */
function perSample(x: tf.Tensor): tf.Tensor3D {
  return tf.reshape(x, [x.shape[0], -1, x.shape[x.shape.length - 1]]);
}

/** Same-shape (or channel-broadcast) addition of two NDHWC tensors, computed on `[M, C]` views. */
export function add5(a: tf.Tensor5D, b: tf.Tensor5D): tf.Tensor5D {
  const c = a.shape[4];
  return tf.reshape(tf.add(tf.reshape(a, [-1, c]), tf.reshape(b, [-1, c])), a.shape);
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

/**
 * GroupNorm with one group per channel (instance norm, biased variance), affine, on a channels-last
 * tensor of any rank ≥ 3 (`[N, ..., C]`): statistics per sample and channel over everything between.
 */
export function channelNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor): T {
  const v = perSample(x);
  const { mean, variance } = tf.moments(v, 1, true);
  const normed = tf.mul(tf.sub(v, mean), tf.rsqrt(tf.add(variance, NORM_EPS)));
  return tf.reshape(tf.add(tf.mul(normed, gamma), beta), x.shape) as T;
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
 * One zero voxel at the front of D, H and W (the up block's asymmetric padding).
 * @param release dispose the input and the per-axis intermediates as soon as they are used (only
 *   outside a gradient tape)
 */
export function padFront(x: tf.Tensor5D, release = false): tf.Tensor5D {
  let y: tf.Tensor = x;
  for (let axis = 1; axis <= 3; axis++) {
    const [before, n, after] = around(y, axis);
    const view = tf.reshape(y, [before, n, after]);
    const padded = tf.pad(view, [
      [0, 0],
      [1, 0],
      [0, 0],
    ]);
    const next = tf.reshape(
      padded,
      y.shape.map((d, i) => (i === axis ? n + 1 : d)),
    );
    // Reshapes share their data: it is freed once every view of it is disposed.
    if (release) tf.dispose([y, view, padded]);
    y = next;
  }
  return y as tf.Tensor5D;
}

/**
 * Views `x` as `[before, n, after]` around `axis` so per-axis work stays at rank ≤ 4: XNNPACK (wasm)
 * pads at most 6 dims and tfjs-webgpu indexes at most rank 6, so rank-8 reshapes are not portable.
 */
function around(x: tf.Tensor, axis: number): [number, number, number] {
  const before = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const after = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return [before, x.shape[axis], after];
}

/** Keeps voxels 0, 2, 4, ... on every spatial axis (a stride-2 1x1x1 conv's sampling). */
export function subsample2(x: tf.Tensor5D): tf.Tensor5D {
  let y: tf.Tensor = x;
  for (let axis = 1; axis <= 3; axis++) {
    const n = y.shape[axis];
    const half = Math.ceil(n / 2);
    if (n % 2 === 1) y = tf.pad(y, y.shape.map((_, i) => (i === axis ? [0, 1] : [0, 0])) as Array<[number, number]>);
    const [before, , after] = around(y, axis);
    const picked = tf.slice(tf.reshape(y, [before, half, 2, after]), [0, 0, 0, 0], [before, half, 1, after]);
    y = tf.reshape(
      picked,
      y.shape.map((d, i) => (i === axis ? half : d)),
    );
  }
  return y as tf.Tensor5D;
}

/** Places x[a] at index 2a along every spatial axis, zeros between: n → 2n-1 (transposed stride 2, k 1). */
export function spread2(x: tf.Tensor5D): tf.Tensor5D {
  let y: tf.Tensor = x;
  for (let axis = 1; axis <= 3; axis++) {
    const [before, n, after] = around(y, axis);
    const flat = tf.reshape(y, [before, n, after]);
    const interleaved = tf.reshape(tf.stack([flat, tf.zerosLike(flat)], 2), [before, 2 * n, after]);
    const trimmed = tf.slice(interleaved, [0, 0, 0], [before, 2 * n - 1, after]);
    y = tf.reshape(
      trimmed,
      y.shape.map((d, i) => (i === axis ? 2 * n - 1 : d)),
    );
  }
  return y as tf.Tensor5D;
}

/** Options of {@link runBlock}. */
export interface BlockRunOptions {
  /**
   * When > 0, run the per-voxel part of the block (norm affine, conv2, GELU, conv3, residual) in chunks of
   * about this many expanded elements, each in its own tidy scope, so the full expanded tensor (e.g. 128
   * channels x 2.3 M voxels = 1.2 GB in up_0 of MedNeXt-B at 128x160x112) never exists at once. Meant for
   * inference; under a gradient tape it only costs time. GRN blocks (global statistics) are never chunked.
   */
  chunkElements?: number;
}

/** Runs one MedNeXt block (plain, down or up) on NDHWC input. */
export function runBlock(x: tf.Tensor5D, b: BlockSpec, p: ParamGetter, options: BlockRunOptions = {}): tf.Tensor5D {
  const pre = b.name;
  const filter = depthwiseFilter(p(`${pre}.conv1.weight`));
  const pad = Math.floor(b.kernel / 2);
  const dw =
    b.kind === 'up'
      ? depthwiseConvTranspose3d(x, filter, { strides: 2, padding: pad, outputPadding: 0 })
      : depthwiseConv3d(x, filter, { strides: b.kind === 'down' ? 2 : 1, padding: pad });
  const [n, d, h, w, c] = dw.shape;
  const v = d * h * w;
  const cOut = b.cOut;
  // From here on: [N, voxels, C] / [M, C] views.
  const w2 = p(`${pre}.conv2.weight`);
  const e = w2.shape[0];
  const chunk = options.chunkElements ?? 0;
  const rowsPer = chunk > 0 && !b.grn ? Math.max(1, Math.floor(chunk / (n * Math.max(e, c)))) : v;
  // Lean (chunked) mode: outside a gradient tape, for inputs too large to hold every intermediate.
  const lean = rowsPer < v;
  const dw3: tf.Tensor3D = tf.reshape(dw, [n, v, c]);
  // GroupNorm (one group per channel): statistics over the whole (unpadded) volume, applied per voxel below.
  // The conv1 bias is cancelled by the norm; the lean path leaves it out (no gradient is taken there), the
  // differentiable path keeps it so conv1.bias gets its (zero) gradient exactly as in PyTorch.
  const t: tf.Tensor3D = lean ? dw3 : (tf.add(dw3, p(`${pre}.conv1.bias`)) as tf.Tensor3D);
  const { mean, variance } = lean ? chunkedMoments(t, rowsPer) : tf.moments(t, 1, true);
  const scale = tf.mul(tf.rsqrt(tf.add(variance, NORM_EPS)), p(`${pre}.norm.weight`));
  const beta = p(`${pre}.norm.bias`);
  const w2m = tf.reshape(w2, [e, c]);
  const w3m = tf.reshape(p(`${pre}.conv3.weight`), [cOut, e]);
  const residualRows = (): tf.Tensor3D => {
    if (b.kind === 'block') return tf.reshape(x, [n, v, c]);
    if (b.kind === 'down') {
      const r = pointwise(subsample2(x), p(`${pre}.res_conv.weight`), p(`${pre}.res_conv.bias`));
      return tf.reshape(r, [n, v, cOut]);
    }
    // Transposed 1x1x1 stride 2: W^T x at even positions, bias everywhere (before the front padding).
    const r = spread2(pointwiseTransposed(x, p(`${pre}.res_conv.weight`), null));
    return tf.add(tf.reshape(r, [n, v, cOut]), p(`${pre}.res_conv.bias`));
  };
  const residual = b.residual ? tf.tidy(residualRows) : null;
  const tail = (rows: tf.Tensor3D, res: tf.Tensor3D | null): tf.Tensor3D => {
    const m = rows.shape[1];
    const normed = tf.add(tf.mul(tf.sub(rows, mean), scale), beta);
    let u = tf.add(tf.matMul(tf.reshape(normed, [n * m, c]), w2m, false, true), p(`${pre}.conv2.bias`));
    u = gelu(u);
    if (b.grn) u = tf.reshape(grn(tf.reshape(u, [n, m, e]), p(`${pre}.grn_gamma`), p(`${pre}.grn_beta`)), [-1, e]);
    u = tf.add(tf.matMul(u, w3m, false, true), p(`${pre}.conv3.bias`));
    const out: tf.Tensor3D = tf.reshape(u, [n, m, cOut]);
    return res ? (tf.add(out, res) as tf.Tensor3D) : out;
  };
  let out: tf.Tensor3D;
  if (!lean) {
    out = tail(t, residual);
  } else {
    const parts: tf.Tensor3D[] = [];
    for (let r0 = 0; r0 < v; r0 += rowsPer) {
      const len = Math.min(rowsPer, v - r0);
      parts.push(
        tf.tidy(() =>
          tail(tf.slice(t, [0, r0, 0], [n, len, c]), residual ? tf.slice(residual, [0, r0, 0], [n, len, cOut]) : null),
        ),
      );
    }
    // No gradient is taken in lean mode, so the large inputs can go now rather than at the end of the
    // caller's tidy scope (at 128x160x112 the up_0 depthwise output alone is 587 MB).
    tf.dispose([dw, dw3, ...(residual ? [residual] : [])]);
    out = tf.concat(parts, 1);
    tf.dispose(parts);
  }
  const out5: tf.Tensor5D = tf.reshape(out, [n, d, h, w, cOut]);
  if (lean) out.dispose(); // out5 keeps the data alive; padFront may then free it early
  // Up block: one zero voxel at the front of each axis, after conv3 and the residual.
  return b.kind === 'up' ? padFront(out5, lean) : out5;
}

/**
 * Per-sample, per-channel mean and biased variance over axis 1 of `[N, V, C]`, computed over row chunks
 * (two passes) so no full-size temporary exists.
 */
function chunkedMoments(x: tf.Tensor3D, rows: number): { mean: tf.Tensor; variance: tf.Tensor } {
  const [n, v, c] = x.shape;
  const over = (f: (chunk: tf.Tensor3D) => tf.Tensor): tf.Tensor => {
    let acc: tf.Tensor = tf.zeros([n, 1, c]);
    for (let r0 = 0; r0 < v; r0 += rows) {
      const len = Math.min(rows, v - r0);
      const next = tf.tidy(() => tf.add(acc, f(tf.slice(x, [0, r0, 0], [n, len, c]))));
      acc.dispose();
      acc = next;
    }
    return acc;
  };
  const sum = over((chunk) => tf.sum(chunk, 1, true));
  const mean = tf.div(sum, v);
  sum.dispose();
  const sq = over((chunk) => tf.sum(tf.square(tf.sub(chunk, mean)), 1, true));
  const variance = tf.div(sq, v);
  sq.dispose();
  return { mean, variance };
}
