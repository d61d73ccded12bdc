/**
 * One MedNeXt block (plain, down or up) on tfjs tensors, written once for every op set: inference and plain
 * autodiff ({@link PLAIN_OPS}), lean training ({@link LEAN_OPS}), lean training with the kernel tail
 * ({@link LEAN_FUSED_TAIL_OPS}). The op set changes only what the gradient tape keeps; the values are the same.
 */
import * as tf from '@tensorflow/tfjs-core';
import { depthwiseConv3d, depthwiseConvTranspose3d } from '@mednext-ts/tensor3d';
import type { BlockSpec } from '../../../model/architecture.js';
import { PLAIN_OPS, applyNorm, normScale, type BlockOps } from './block-ops.js';
import { depthwiseFilter, grn, padFront, pointwise, pointwiseTransposed, type ParamGetter } from './layers.js';

/** Options of {@link runBlock}. */
export interface BlockRunOptions {
  /** The op set (default {@link PLAIN_OPS}). */
  ops?: BlockOps;
  /**
   * When > 0 (plain ops only), run the per-voxel part of the block (norm affine, conv2, GELU, conv3, residual) in
   * chunks of about this many expanded elements, each in its own tidy scope, so the full expanded tensor (e.g.
   * 128 channels x 2.3 M voxels = 1.2 GB in up_0 of MedNeXt-B at 128x160x112) never exists at once. Meant for
   * inference; under a gradient tape it only costs time. GRN blocks (global statistics) are never chunked.
   */
  chunkElements?: number;
}

/**
 * The residual path of a block as `[N, V, C_out]` rows: the input itself, the stride-2 1x1x1 `res_conv` of a
 * down block, or the up block's transposed stride-2 1x1x1 `res_conv` (Wᵀx at even positions, the bias
 * everywhere, before the front padding). `n`, `v`: batch and voxels of the block's (unpadded) output.
 */
export function residualRows(
  x: tf.Tensor5D,
  b: BlockSpec,
  p: ParamGetter,
  ops: BlockOps,
  n: number,
  v: number,
): tf.Tensor3D {
  const pre = b.name;
  if (b.kind === 'block') return tf.reshape(x, [n, v, b.cIn]) as tf.Tensor3D;
  if (b.kind === 'down') {
    const r = pointwise(ops.subsample2(x), p(`${pre}.res_conv.weight`), p(`${pre}.res_conv.bias`));
    return ops.reshape<tf.Rank.R3>(r, [n, v, b.cOut]);
  }
  const r = ops.spread2(pointwiseTransposed(x, p(`${pre}.res_conv.weight`), null));
  return ops.addBias(ops.reshape<tf.Rank.R3>(r, [n, v, b.cOut]), p(`${pre}.res_conv.bias`));
}

/** The spatial size of block `b`'s output before an up block's front padding. */
export function blockOutSpatial(b: BlockSpec, [d, h, w]: number[]): [number, number, number] {
  if (b.kind === 'block') return [d, h, w];
  if (b.kind === 'down') return [Math.ceil(d / 2), Math.ceil(h / 2), Math.ceil(w / 2)];
  return [2 * d - 1, 2 * h - 1, 2 * w - 1];
}

/**
 * Runs one MedNeXt block (plain, down or up) on NDHWC input with the op set `options.ops`.
 *
 * @example
 * ```ts
 * const y = runBlock(x, arch.encoders[0][0], (name) => model.params.get(name)!);            // inference
 * const g = tf.grad((t) => runBlock(t, block, p, { ops: LEAN_OPS }).sum())(x);              // lean training
 * ```
 */
export function runBlock(x: tf.Tensor5D, b: BlockSpec, p: ParamGetter, options: BlockRunOptions = {}): tf.Tensor5D {
  const ops = options.ops ?? PLAIN_OPS;
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
  const chunk = ops.lean ? 0 : (options.chunkElements ?? 0);
  const rowsPer = chunk > 0 && !b.grn ? Math.max(1, Math.floor(chunk / (n * Math.max(e, c)))) : v;
  // Chunked mode: outside a gradient tape, for inputs too large to hold every intermediate.
  const chunked = rowsPer < v;
  // The conv1 bias is cancelled by the norm; the chunked path leaves it out (no gradient is taken there), the
  // differentiable path keeps it so conv1.bias gets its (zero) gradient exactly as in PyTorch. Lean reshapes
  // wherever the input would otherwise die (tfjs's reshape gradient keeps it alive).
  const dw3 = ops.reshape<tf.Rank.R3>(dw, [n, v, c]);
  const t = chunked ? dw3 : ops.addBias(dw3, p(`${pre}.conv1.bias`));
  const gamma = p(`${pre}.norm.weight`);
  const beta = p(`${pre}.norm.bias`);
  const w2m = tf.reshape(w2, [e, c]) as tf.Tensor2D;
  const w3m = tf.reshape(p(`${pre}.conv3.weight`), [cOut, e]) as tf.Tensor2D;
  // GroupNorm statistics over the whole (unpadded) volume, applied chunk by chunk below.
  const stats = chunked ? chunkedMoments(t, rowsPer) : null;
  const scale = stats ? normScale(stats.variance, gamma) : null;
  // Plain ops: the residual's intermediates go at once (under the lean tape they are never kept anyway).
  const residualOf = (): tf.Tensor3D => residualRows(x, b, p, ops, n, v);
  const residual = (): tf.Tensor3D => (ops.lean ? residualOf() : tf.tidy(residualOf));
  if (ops.tail && b.grn) throw new Error(`runBlock: ${pre} has GRN, which the ${ops.name} tail does not compute`);
  const tail = (rows: tf.Tensor3D, res: tf.Tensor3D | null): tf.Tensor3D => {
    const m = rows.shape[1];
    let out: tf.Tensor3D;
    if (ops.tail) {
      // The whole tail on the kernels: the tape keeps t only (no E-channel tensor in either pass).
      out = ops.tail(rows, gamma, beta, w2m, p(`${pre}.conv2.bias`), w3m, p(`${pre}.conv3.bias`));
    } else {
      const normed = stats && scale ? applyNorm(rows, stats.mean, scale, beta) : ops.normAffine(rows, gamma, beta);
      const u = ops.linear(tf.reshape(normed, [n * m, c]), w2m, p(`${pre}.conv2.bias`));
      let o: tf.Tensor2D;
      if (b.grn) {
        const g = grn(tf.reshape(ops.gelu(u), [n, m, e]), p(`${pre}.grn_gamma`), p(`${pre}.grn_beta`));
        o = ops.linear(tf.reshape(g, [n * m, e]), w3m, p(`${pre}.conv3.bias`));
      } else {
        o = ops.geluLinear(u, w3m, p(`${pre}.conv3.bias`));
      }
      out = ops.reshape<tf.Rank.R3>(o, [n, m, cOut]);
    }
    return res ? ops.add(out, res) : out;
  };
  let out: tf.Tensor3D;
  if (!chunked) {
    out = tail(t, null);
    if (b.residual) out = ops.add(out, residual());
  } else {
    const rest = b.residual ? residual() : null;
    const parts: tf.Tensor3D[] = [];
    for (let r0 = 0; r0 < v; r0 += rowsPer) {
      const len = Math.min(rowsPer, v - r0);
      parts.push(
        tf.tidy(() =>
          tail(tf.slice(t, [0, r0, 0], [n, len, c]), rest ? tf.slice(rest, [0, r0, 0], [n, len, cOut]) : null),
        ),
      );
    }
    // No gradient is taken in chunked mode, so the large inputs can go now rather than at the end of the
    // caller's tidy scope (at 128x160x112 the up_0 depthwise output alone is 587 MB).
    tf.dispose([dw, dw3, ...(rest ? [rest] : [])]);
    out = tf.concat(parts, 1);
    tf.dispose(parts);
  }
  const out5: tf.Tensor5D = tf.reshape(out, [n, d, h, w, cOut]);
  if (chunked) out.dispose(); // out5 keeps the data alive; padFront may then free it early
  // Up block: one zero voxel at the front of each axis, after conv3 and the residual.
  if (b.kind !== 'up') return out5;
  return chunked ? padFront(out5, true) : ops.padFront(out5);
}

/**
 * The skip connection's addition `a + b` of two same-shape NDHWC tensors, on `[M, C]` views (under the lean
 * ops it keeps nothing for the backward pass; tfjs's add keeps both inputs alive).
 */
export function addSkip(a: tf.Tensor5D, b: tf.Tensor5D, ops: BlockOps = PLAIN_OPS): tf.Tensor5D {
  const c = a.shape[4];
  const sum = ops.add(ops.reshape<tf.Rank.R2>(a, [-1, c]), ops.reshape<tf.Rank.R2>(b, [-1, c]));
  return ops.reshape<tf.Rank.R5>(sum, a.shape);
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
