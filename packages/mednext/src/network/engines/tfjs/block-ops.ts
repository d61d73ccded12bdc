/**
 * The op sets the one tfjs block ({@link ./block.ts runBlock}) is written against. A block is the same sequence
 * of operations for inference and for training; what differs is what each operation keeps for the backward pass:
 *
 * - {@link PLAIN_OPS}: tfjs's own ops (inference, and plain autodiff to compare against);
 * - {@link LEAN_OPS}: the memory-lean custom gradients of {@link ./lean-ops.ts} (same values, a fraction of the
 *   tape's memory);
 * - {@link LEAN_FUSED_TAIL_OPS}: the lean ops with the block tail (norm → expand → GELU → compress) as one
 *   differentiable op on the WebAssembly kernels (host backends with the fast kernels on).
 *
 * Every op works on rank ≤ 3 views except the spatial ones (portability, see layers.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { NORM_EPS } from '../../../model/architecture.js';
import { fusedTailLean } from './fused-tail.js';
import { gelu, padFront, spread2, subsample2 } from './layers.js';
import {
  addBiasLean,
  addLean,
  geluLean,
  geluLinearLean,
  linearLean,
  normAffineLean,
  padFrontLean,
  reshapeLean,
  spread2Lean,
  subsample2Lean,
} from './lean-ops.js';

/** The block tail `gelu(norm(t) W2ᵀ + b2) W3ᵀ + b3` as one op (t `[N, V, C]`, W2 `[E, C]`, W3 `[Cout, E]`). */
export type BlockTailOp = (
  t: tf.Tensor3D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  w2: tf.Tensor2D,
  b2: tf.Tensor,
  w3: tf.Tensor2D,
  b3: tf.Tensor,
) => tf.Tensor3D;

/** The operations of a MedNeXt block whose backward-pass bookkeeping differs between op sets. */
export interface BlockOps {
  /** Short name, for plans and test names. */
  readonly name: 'plain' | 'lean' | 'lean+fused-tail';
  /** Whether the ops are custom gradients that free their saved tensors early inside `withGradientRelease`. */
  readonly lean: boolean;
  reshape<R extends tf.Rank>(x: tf.Tensor, shape: number[]): tf.Tensor<R>;
  /** `x + b`, b broadcast along the channel (last) axis. */
  addBias<T extends tf.Tensor>(x: T, b: tf.Tensor): T;
  /** Same-shape addition. */
  add<T extends tf.Tensor>(a: T, b: T): T;
  /** Per-channel GroupNorm with affine γ, β on `[N, V, C]`. */
  normAffine(t: tf.Tensor3D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor3D;
  /** `x Wᵀ + b` on `[M, I]` rows. */
  linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor): tf.Tensor2D;
  gelu<T extends tf.Tensor>(x: T): T;
  /** `gelu(u) Wᵀ + b`. */
  geluLinear(u: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor): tf.Tensor2D;
  /** Voxels 0, 2, 4, ... on every spatial axis. */
  subsample2(x: tf.Tensor5D): tf.Tensor5D;
  /** x[a] at 2a on every spatial axis, zeros between. */
  spread2(x: tf.Tensor5D): tf.Tensor5D;
  /** One zero voxel at the front of D, H, W. */
  padFront(x: tf.Tensor5D): tf.Tensor5D;
  /** The whole tail as one op, where the op set has one (used for the blocks the plan gives it). */
  readonly tail?: BlockTailOp;
}

/** GroupNorm's per-voxel step `(t − μ)·scale + β` with `scale = γ/σ` (shared by the plain and chunked paths). */
export function applyNorm(rows: tf.Tensor3D, mean: tf.Tensor, scale: tf.Tensor, beta: tf.Tensor): tf.Tensor3D {
  return tf.add(tf.mul(tf.sub(rows, mean), scale), beta) as tf.Tensor3D;
}

/** `γ/σ` from a variance, as both norm paths compute it. */
export function normScale(variance: tf.Tensor, gamma: tf.Tensor): tf.Tensor {
  return tf.mul(tf.rsqrt(tf.add(variance, NORM_EPS)), gamma);
}

/** tfjs's own ops: inference, and plain autodiff under a tape. */
export const PLAIN_OPS: BlockOps = {
  name: 'plain',
  lean: false,
  reshape: <R extends tf.Rank>(x: tf.Tensor, shape: number[]) => tf.reshape(x, shape as never) as tf.Tensor<R>,
  addBias: <T extends tf.Tensor>(x: T, b: tf.Tensor) => tf.add(x, b) as T,
  add: <T extends tf.Tensor>(a: T, b: T) => tf.add(a, b) as T,
  normAffine: (t, gamma, beta) => {
    const { mean, variance } = tf.moments(t, 1, true);
    return applyNorm(t, mean, normScale(variance, gamma), beta);
  },
  linear: (x, w, b) => tf.add(tf.matMul(x, w, false, true), b) as tf.Tensor2D,
  gelu: <T extends tf.Tensor>(x: T) => gelu(x) as T,
  geluLinear: (u, w, b) => tf.add(tf.matMul(gelu(u) as tf.Tensor2D, w, false, true), b) as tf.Tensor2D,
  subsample2,
  spread2,
  padFront: (x) => padFront(x),
};

/** The memory-lean custom gradients (training). */
export const LEAN_OPS: BlockOps = {
  name: 'lean',
  lean: true,
  reshape: reshapeLean,
  addBias: addBiasLean,
  add: addLean,
  normAffine: normAffineLean,
  linear: linearLean,
  gelu: geluLean,
  geluLinear: geluLinearLean,
  subsample2: subsample2Lean,
  spread2: spread2Lean,
  padFront: padFrontLean,
};

/** {@link LEAN_OPS} with the block tail on the WebAssembly kernels (host backends, fast kernels on, no GRN). */
export const LEAN_FUSED_TAIL_OPS: BlockOps = { ...LEAN_OPS, name: 'lean+fused-tail', tail: fusedTailLean };
