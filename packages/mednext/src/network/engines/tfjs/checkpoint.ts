/**
 * Per-block recomputation (gradient checkpointing, the official `checkpoint_style="outside_block"`): the forward
 * pass keeps only a block's input and parameters, the backward pass reruns the block under a fresh tape.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamGetter } from './layers.js';
import { gradientReleaseActive, leanCustomGrad, withGradientRelease } from './lean-ops.js';

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
