/**
 * Memory-lean differentiable building blocks for training: `tf.customGrad` versions of the
 * per-channel GroupNorm, exact GELU, the 1x1x1 convolution (as a matrix product) and bias/residual
 * additions, with hand-written backward passes.
 *
 * Why: tfjs's autodiff keeps, for every primitive op, the tensors its gradient needs (an `add` keeps
 * both inputs, `mul` both operands, `erf` its input, ...), so a GroupNorm kept ~16x its input and a
 * GELU ~11x for the backward pass. These versions save only what the analytic backward needs (the
 * norm's input plus per-channel statistics, GELU's input, the matrix product's input and weight) and
 * compute the same forward values with the same op sequence as the autodiff path.
 *
 * All functions work on rank ≤ 3 views (`[N, V, C]` or `[M, C]`), as the rest of the model does
 * (portability across the cpu, wasm and webgpu backends).
 */
import * as tf from '@tensorflow/tfjs-core';
import { NORM_EPS } from '../../../model/architecture.js';
import { alongSpatialAxes, padFront, spread2, subsample2 } from './layers.js';

/** What a {@link leanCustomGrad} forward function returns: the value and its backward pass. */
export interface LeanGradResult {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

/** Depth of {@link withGradientRelease} scopes: ops created while > 0 free their inputs of the backward pass early. */
let releaseDepth = 0;

/**
 * Runs `fn` so that every lean op it creates frees, right after its own backward step, the gradient it
 * received and the tensors it saved. tfjs keeps both until the whole backward pass ends (the gradient of
 * every intermediate tensor stays in its gradient map), so without this the backward peak is the saved
 * activations plus a gradient for each of them.
 *
 * Only safe where no output of these ops is the root of the gradient computation with a caller-owned
 * `dy`, or one of the tensors whose gradient is requested: true inside the network's forward pass under
 * `tf.variableGrads` (the root is the loss, the requested tensors are variables).
 */
export function withGradientRelease<T>(fn: () => T): T {
  releaseDepth++;
  try {
    return fn();
  } finally {
    releaseDepth--;
  }
}

/** Whether ops created now free their backward inputs early (inside {@link withGradientRelease}). */
export function gradientReleaseActive(): boolean {
  return releaseDepth > 0;
}

/**
 * `tf.customGrad` whose backward pass runs in a tidy scope (tfjs calls a custom gradient function outside
 * any scope of its own, so every temporary it created, normalised inputs, derivatives, ..., would stay
 * alive until the whole backward pass ends), and which frees its upstream gradient and saved tensors
 * after use when created inside {@link withGradientRelease}.
 */
export function leanCustomGrad(f: (...args: unknown[]) => LeanGradResult): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad((...args: unknown[]) => {
    const release = releaseDepth > 0;
    const { value, gradFunc } = f(...args);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const grads = tf.tidy(() => gradFunc(dy, saved));
        if (release) {
          const list = Array.isArray(grads) ? grads : [grads];
          if (!list.includes(dy)) dy.dispose();
          // Saved tensors are the tape's own clones (shared buffers); the engine disposes them again at the
          // end, which is then a no-op.
          for (const t of saved) if (!list.includes(t)) t.dispose();
        }
        return grads;
      },
    };
  }) as (...inputs: tf.Tensor[]) => tf.Tensor;
}

/** 1/sqrt(2π), for the normal density in the GELU derivative. */
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Gradient of GroupNorm's input given `dxhat = dy·γ`, the normalised input and 1/σ (all per sample, channel). */
function normInputGrad(dxhat: tf.Tensor3D, xhat: tf.Tensor3D, rstd: tf.Tensor): tf.Tensor3D {
  // d/dt of (t − μ)/σ with μ, σ over axis 1: (dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)) / σ.
  const m1 = tf.mean(dxhat, 1, true);
  const m2 = tf.mean(tf.mul(dxhat, xhat), 1, true);
  return tf.mul(tf.sub(tf.sub(dxhat, m1), tf.mul(xhat, m2)), rstd);
}

/** Sums `dy` down to `shape` over every leading axis (the gradient of a broadcast per-channel vector). */
function channelSum(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const c = dy.shape[dy.shape.length - 1];
  return tf.reshape(tf.sum(tf.reshape(dy, [-1, c]), 0), shape);
}

const normAffineOp = leanCustomGrad((...args: unknown[]) => {
  const [t, gamma, beta, save] = args as [tf.Tensor3D, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const { mean, variance } = tf.moments(t, 1, true);
  const rstd = tf.rsqrt(tf.add(variance, NORM_EPS));
  // Same expression (and rounding) as the autodiff path in runBlock: (t − μ)·(γ/σ) + β.
  const value = tf.add(tf.mul(tf.sub(t, mean), tf.mul(rstd, gamma)), beta) as tf.Tensor3D;
  save([t, mean, rstd, gamma]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [ts, mu, r, g] = saved;
      const xhat = tf.mul(tf.sub(ts, mu), r) as tf.Tensor3D;
      const dxhat = tf.mul(dy, g) as tf.Tensor3D;
      return [normInputGrad(dxhat, xhat, r), channelSum(tf.mul(dy, xhat), g.shape), channelSum(dy, g.shape)];
    },
  };
});

/**
 * GroupNorm with one group per channel (biased variance, eps {@link NORM_EPS}) and affine γ, β on a
 * `[N, V, C]` view; statistics per sample and channel over V. Keeps only the input and two
 * `[N, 1, C]` statistics for the backward pass.
 */
export function normAffineLean(t: tf.Tensor3D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor3D {
  if (t.rank !== 3) throw new Error(`normAffineLean: expected a [N, V, C] tensor, got shape [${t.shape}]`);
  return normAffineOp(t, gamma, beta) as tf.Tensor3D;
}

/** Exact GELU forward, the same ops as {@link ./layers.ts gelu}. */
function geluForward(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** GELU'(x) = Φ(x) + x·φ(x). */
function geluDerivative(x: tf.Tensor): tf.Tensor {
  const cdf = tf.mul(tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1), 0.5);
  const pdf = tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), INV_SQRT_2PI);
  return tf.add(cdf, tf.mul(x, pdf));
}

const geluOp = leanCustomGrad((...args: unknown[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return { value: geluForward(x), gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.mul(dy, geluDerivative(xs)) };
});

/** Exact (erf) GELU that keeps only its input for the backward pass. */
export function geluLean<T extends tf.Tensor>(x: T): T {
  return geluOp(x) as T;
}

/** `x Wᵀ + b` for x `[M, I]`, W `[O, I]`, b `[O]`; returns the input gradients given dy `[M, O]`. */
function linearGrads(dy: tf.Tensor, x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor[] {
  const dy2 = dy as tf.Tensor2D;
  return [tf.matMul(dy2, w as tf.Tensor2D), tf.matMul(dy2, x as tf.Tensor2D, true, false), channelSum(dy, b.shape)];
}

const linearOp = leanCustomGrad((...args: unknown[]) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor, tf.GradSaveFunc];
  save([x, w, b]);
  return {
    value: tf.add(tf.matMul(x, w, false, true), b),
    gradFunc: (dy: tf.Tensor, [xs, ws, bs]: tf.Tensor[]) => linearGrads(dy, xs, ws, bs),
  };
});

/**
 * A 1x1x1 convolution as `x Wᵀ + b` on `[M, I]` rows (W `[O, I]`, b `[O]`). Keeps x and W for the
 * backward pass but not the product (autodiff's bias `add` would keep it: O/I times x's size).
 */
export function linearLean(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor): tf.Tensor2D {
  return linearOp(x, w, b) as tf.Tensor2D;
}

const geluLinearOp = leanCustomGrad((...args: unknown[]) => {
  const [u, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor, tf.GradSaveFunc];
  save([u, w, b]);
  return {
    value: tf.add(tf.matMul(geluForward(u) as tf.Tensor2D, w, false, true), b),
    gradFunc: (dy: tf.Tensor, [us, ws, bs]: tf.Tensor[]) => {
      // GELU's output is recomputed here rather than kept: one elementwise pass instead of E x M floats.
      const [dg, dw, db] = linearGrads(dy, geluForward(us), ws, bs);
      return [tf.mul(dg, geluDerivative(us)), dw, db];
    },
  };
});

/**
 * `gelu(u) Wᵀ + b` (GELU then a 1x1x1 convolution, MedNeXt's conv3 after the activation) keeping only
 * u and W for the backward pass, which recomputes gelu(u).
 */
export function geluLinearLean(u: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor): tf.Tensor2D {
  return geluLinearOp(u, w, b) as tf.Tensor2D;
}

const addBiasOp = leanCustomGrad((...args: unknown[]) => {
  const [x, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([b]);
  return {
    value: tf.add(x, b),
    gradFunc: (dy: tf.Tensor, [bs]: tf.Tensor[]) => [tf.clone(dy), channelSum(dy, bs.shape)],
  };
});

/** `x + b` with b broadcast along x's last (channel) axis; keeps nothing of x's size for backward. */
export function addBiasLean<T extends tf.Tensor>(x: T, b: tf.Tensor): T {
  return addBiasOp(x, b) as T;
}

const addSameOp = leanCustomGrad((...args: unknown[]) => {
  const [a, b] = args as [tf.Tensor, tf.Tensor];
  return { value: tf.add(a, b), gradFunc: (dy: tf.Tensor) => [tf.clone(dy), tf.clone(dy)] };
});

/** `a + b` for two tensors of the same shape; keeps nothing for the backward pass. */
export function addLean<T extends tf.Tensor>(a: T, b: T): T {
  if (a.shape.join() !== b.shape.join()) {
    throw new Error(`addLean: shapes differ ([${a.shape}] vs [${b.shape}])`);
  }
  return addSameOp(a, b) as T;
}

/** Drops the first voxel of D, H and W (the adjoint of {@link padFront}). */
function dropFront(x: tf.Tensor5D): tf.Tensor5D {
  return alongSpatialAxes(x, (v) => tf.slice(v, [0, 1, 0], [v.shape[0], v.shape[1] - 1, v.shape[2]]));
}

const padFrontOp = leanCustomGrad((...args: unknown[]) => {
  const [x] = args as [tf.Tensor5D];
  return { value: padFront(x), gradFunc: (dy: tf.Tensor) => dropFront(dy as tf.Tensor5D) };
});

/**
 * {@link padFront} (one zero voxel at the front of D, H, W) keeping nothing for the backward pass
 * (autodiff keeps every per-axis intermediate: ~11x the input).
 */
export function padFrontLean(x: tf.Tensor5D): tf.Tensor5D {
  return padFrontOp(x) as tf.Tensor5D;
}

const spread2Op = leanCustomGrad((...args: unknown[]) => {
  const [x] = args as [tf.Tensor5D];
  // x[a] lands at 2a on every axis, so the adjoint picks the even positions of dy (n of 2n − 1).
  return { value: spread2(x), gradFunc: (dy: tf.Tensor) => subsample2(dy as tf.Tensor5D) };
});

/**
 * {@link spread2} (x[a] at 2a on every spatial axis, zeros between) keeping nothing for the backward
 * pass (autodiff keeps the stacked and sliced intermediates: ~67x the input).
 */
export function spread2Lean(x: tf.Tensor5D): tf.Tensor5D {
  return spread2Op(x) as tf.Tensor5D;
}

/** Zero-pads D, H and W at the end up to `shape`'s sizes. */
function padEndTo(x: tf.Tensor5D, shape: number[]): tf.Tensor5D {
  return alongSpatialAxes(x, (v, axis) => {
    const extra = shape[axis] - v.shape[1];
    return extra === 0
      ? v
      : tf.pad(v, [
          [0, 0],
          [0, extra],
          [0, 0],
        ]);
  });
}

const subsample2Op = leanCustomGrad((...args: unknown[]) => {
  const [x] = args as [tf.Tensor5D];
  const shape = x.shape;
  // Voxel 2a goes to a, so the adjoint spreads dy back to the even positions (zeros elsewhere).
  return { value: subsample2(x), gradFunc: (dy: tf.Tensor) => padEndTo(spread2(dy as tf.Tensor5D), shape) };
});

/** {@link subsample2} (voxels 0, 2, 4, ... on every spatial axis) keeping nothing for the backward pass. */
export function subsample2Lean(x: tf.Tensor5D): tf.Tensor5D {
  return subsample2Op(x) as tf.Tensor5D;
}

/**
 * `tf.reshape` that keeps nothing for the backward pass. tfjs's own Reshape gradient saves its input
 * (only for the shape), which keeps the input's buffer alive until the backward pass even when
 * nothing else needs it (e.g. the depthwise output once the bias is added).
 */
export function reshapeLean<R extends tf.Rank>(x: tf.Tensor, shape: number[]): tf.Tensor<R> {
  const inShape = x.shape;
  const op = leanCustomGrad((...args: unknown[]) => {
    const [t] = args as [tf.Tensor];
    return { value: tf.reshape(t, shape), gradFunc: (dy: tf.Tensor) => tf.reshape(dy, inShape) };
  });
  return op(x) as tf.Tensor<R>;
}
