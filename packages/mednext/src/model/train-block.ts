/**
 * The differentiable (training) path of one MedNeXt block, built from the memory-lean custom
 * gradients in {@link ./lean-grad.ts}, plus optional per-block recomputation (gradient checkpointing,
 * the official `checkpoint_style="outside_block"`).
 *
 * Values are those of {@link runBlock}'s unchunked path (same op sequence); only what the gradient
 * tape keeps differs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BlockSpec } from './architecture.js';
import {
  addBiasLean,
  addLean,
  geluLean,
  geluLinearLean,
  gradientReleaseActive,
  leanCustomGrad,
  linearLean,
  normAffineLean,
  padFrontLean,
  reshapeLean,
  spread2Lean,
  subsample2Lean,
  withGradientRelease,
} from './lean-grad.js';
import { depthwiseFilter, grn, pointwise, pointwiseTransposed } from './layers.js';
import type { ParamGetter } from './layers.js';
import { depthwiseConv3d, depthwiseConvTranspose3d } from './ops.js';
import { fusedTailLean, fusedTailUsable } from './fused-train.js';
import { fusedBlockSupports } from './fused-blocks.js';

/** The residual path of a block as `[N, V, C_out]` rows (identity, strided 1x1x1 conv, or transposed). */
function residualRows(x: tf.Tensor5D, b: BlockSpec, p: ParamGetter, n: number, v: number): tf.Tensor3D {
  const pre = b.name;
  if (b.kind === 'block') return tf.reshape(x, [n, v, b.cIn]);
  if (b.kind === 'down') {
    const r = pointwise(subsample2Lean(x), p(`${pre}.res_conv.weight`), p(`${pre}.res_conv.bias`));
    return reshapeLean<tf.Rank.R3>(r, [n, v, b.cOut]);
  }
  // Transposed 1x1x1 stride 2: Wᵀx at even positions, the bias everywhere (before the front padding).
  const r = spread2Lean(pointwiseTransposed(x, p(`${pre}.res_conv.weight`), null));
  return addBiasLean(reshapeLean<tf.Rank.R3>(r, [n, v, b.cOut]), p(`${pre}.res_conv.bias`));
}

/**
 * One MedNeXt block (plain, down or up) on NDHWC input for training: the same values as
 * {@link runBlock} without chunking, with a gradient tape that keeps about the block input, the
 * norm input and output, and the conv2 output (plus GRN's intermediates in GRN blocks).
 */
export function runBlockTrain(x: tf.Tensor5D, b: BlockSpec, p: ParamGetter): tf.Tensor5D {
  const pre = b.name;
  const filter = depthwiseFilter(p(`${pre}.conv1.weight`));
  const pad = Math.floor(b.kernel / 2);
  const dw =
    b.kind === 'up'
      ? depthwiseConvTranspose3d(x, filter, { strides: 2, padding: pad, outputPadding: 0 })
      : depthwiseConv3d(x, filter, { strides: b.kind === 'down' ? 2 : 1, padding: pad });
  const [n, d, h, w, c] = dw.shape;
  const v = d * h * w;
  // conv1.bias is cancelled by the norm but kept so it gets its (zero) gradient, as in PyTorch.
  // Lean reshapes wherever the input would otherwise die (tfjs's reshape gradient keeps it alive).
  const t = addBiasLean(reshapeLean<tf.Rank.R3>(dw, [n, v, c]), p(`${pre}.conv1.bias`));
  const w2 = p(`${pre}.conv2.weight`);
  const e = w2.shape[0];
  const w2m = tf.reshape(w2, [e, c]) as tf.Tensor2D;
  const w3m = tf.reshape(p(`${pre}.conv3.weight`), [b.cOut, e]) as tf.Tensor2D;
  let out: tf.Tensor3D;
  if (fusedBlockSupports(b) && fusedTailUsable()) {
    // The whole tail on the kernels: the tape keeps t only (no E-channel tensor in either pass).
    const [gamma, beta, b2, b3] = ['norm.weight', 'norm.bias', 'conv2.bias', 'conv3.bias'].map((s) => p(`${pre}.${s}`));
    out = fusedTailLean(t, gamma, beta, w2m, b2, w3m, b3);
  } else {
    const normed = normAffineLean(t, p(`${pre}.norm.weight`), p(`${pre}.norm.bias`));
    const u = linearLean(tf.reshape(normed, [n * v, c]), w2m, p(`${pre}.conv2.bias`));
    let o: tf.Tensor2D;
    if (b.grn) {
      const g = grn(tf.reshape(geluLean(u), [n, v, e]), p(`${pre}.grn_gamma`), p(`${pre}.grn_beta`));
      o = linearLean(tf.reshape(g, [n * v, e]), w3m, p(`${pre}.conv3.bias`));
    } else {
      o = geluLinearLean(u, w3m, p(`${pre}.conv3.bias`));
    }
    out = reshapeLean<tf.Rank.R3>(o, [n, v, b.cOut]);
  }
  if (b.residual) out = addLean(out, residualRows(x, b, p, n, v));
  const out5: tf.Tensor5D = tf.reshape(out, [n, d, h, w, b.cOut]);
  // Up block: one zero voxel at the front of each axis, after conv3 and the residual.
  return b.kind === 'up' ? padFrontLean(out5) : out5;
}

/** The tfjs engine state fields that nested gradient computation disturbs (no public accessor). */
interface EngineTapeState {
  activeTape: unknown;
  gradientDepth: number;
}

/**
 * Runs `fn(x)` with gradient checkpointing: the forward pass keeps only `x` and the parameters
 * `names` (read through `p`) for the backward pass; the backward pass reruns `fn` under a fresh
 * tape and backpropagates through it. Costs one more forward pass of the block per training step.
 *
 * @param names every parameter `fn` reads (each gets a gradient, so each must influence the output)
 */
export function checkpointed(
  fn: (x: tf.Tensor5D, p: ParamGetter) => tf.Tensor5D,
  x: tf.Tensor5D,
  names: string[],
  p: ParamGetter,
): tf.Tensor5D {
  const getterOver = (values: tf.Tensor[]): ParamGetter => {
    const byName = new Map(names.map((name, i) => [name, values[i]]));
    return (name) => {
      const t = byName.get(name);
      if (!t) throw new Error(`checkpointed: parameter '${name}' is read by the block but not listed in names`);
      return t;
    };
  };
  const op = leanCustomGrad((...args: unknown[]) => {
    // The recomputation runs in the backward pass, outside the caller's scope: carry its release mode over.
    const release = gradientReleaseActive();
    const save = args.pop() as tf.GradSaveFunc;
    const inputs = args as tf.Tensor[];
    save(inputs);
    return {
      value: fn(inputs[0] as tf.Tensor5D, getterOver(inputs.slice(1))),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        // tfjs keeps one tape in the engine; a gradient computed inside a backward pass replaces it and
        // clears it when done, and the outer backward pass still needs it to free its saved tensors.
        const state = (tf.engine() as unknown as { state: EngineTapeState }).state;
        const outerTape = state.activeTape;
        try {
          const recompute = (...xs: tf.Tensor[]): tf.Tensor => fn(xs[0] as tf.Tensor5D, getterOver(xs.slice(1)));
          const backward = (): tf.Tensor[] => tf.grads(recompute)(saved, dy);
          return release ? withGradientRelease(backward) : backward();
        } finally {
          state.activeTape = outerTape;
        }
      },
    };
  });
  return op(x, ...names.map(p)) as tf.Tensor5D;
}
