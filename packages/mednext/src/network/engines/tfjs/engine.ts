/**
 * The tfjs engine: {@link walkMedNeXt}'s operations on tfjs tensors (NDHWC), with autograd; the reference every
 * other engine is checked against. Each block takes the path the plan gave it (fused kernel, composite, lean,
 * lean with the kernel tail, each optionally recomputed per block), and each operation runs in its own tidy
 * scope, so a large patch keeps only the live activations.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BlockSpec } from '../../../model/architecture.js';
import type { NetworkEngine } from '../../engine.js';
import type { ForwardPlan } from '../../plan.js';
import { LEAN_FUSED_TAIL_OPS, LEAN_OPS, PLAIN_OPS } from './block-ops.js';
import { addSkip, runBlock } from './block.js';
import { checkpointed } from './checkpoint.js';
import { fusedKernelBlock, type FusedBlockWeights } from './fused-kernel-block.js';
import { pointwise, pointwiseTransposed, type ParamGetter } from './layers.js';
import { withGradientRelease } from './lean-ops.js';

/** What the tfjs engine reads besides the plan. */
export interface TfjsEngineContext {
  /** The parameters by official name. */
  params: ParamGetter;
  /** Every parameter name (a checkpointed block lists its own). */
  paramNames: readonly string[];
  /** The model's fused-kernel weight cache (blocks on the `fused-kernel` path). */
  fusedWeights: FusedBlockWeights;
}

/** {@link NetworkEngine} on tfjs tensors; see the module comment. */
export class TfjsEngine implements NetworkEngine<tf.Tensor5D> {
  readonly name = 'tfjs';

  constructor(
    private readonly plan: ForwardPlan,
    private readonly context: TfjsEngineContext,
  ) {}

  stem(x: tf.Tensor5D): tf.Tensor5D {
    const p = this.context.params;
    return tf.tidy(() => pointwise(x, p('stem.weight'), p('stem.bias')));
  }

  block(x: tf.Tensor5D, b: BlockSpec): tf.Tensor5D {
    return tf.tidy(() => this.runPlanned(x, b));
  }

  down(x: tf.Tensor5D, b: BlockSpec): tf.Tensor5D {
    return tf.tidy(() => this.runPlanned(x, b));
  }

  upAdd(x: tf.Tensor5D, b: BlockSpec, skip: tf.Tensor5D): tf.Tensor5D {
    const out = tf.tidy(() => {
      const y = this.runPlanned(x, b);
      // Safe under the lean tape: the root of the gradient is the caller's loss.
      return this.plan.lean ? withGradientRelease(() => addSkip(y, skip, LEAN_OPS)) : addSkip(y, skip, PLAIN_OPS);
    });
    skip.dispose();
    return out;
  }

  head(x: tf.Tensor5D, level: number): tf.Tensor5D {
    const p = this.context.params;
    return tf.tidy(() => pointwiseTransposed(x, p(`out_${level}.conv_out.weight`), p(`out_${level}.conv_out.bias`)));
  }

  release(x: tf.Tensor5D): void {
    x.dispose();
  }

  /** Block `b` on the path the plan gave it. */
  private runPlanned(x: tf.Tensor5D, b: BlockSpec): tf.Tensor5D {
    const { params: p, fusedWeights, paramNames } = this.context;
    const path = this.plan.blocks.get(b.name);
    switch (path) {
      case 'fused-kernel':
        return fusedKernelBlock(x, b, p, fusedWeights);
      case 'composite':
        return runBlock(x, b, p, { chunkElements: this.plan.chunkElements });
      case 'lean':
      case 'lean+fused-tail': {
        const ops = path === 'lean' ? LEAN_OPS : LEAN_FUSED_TAIL_OPS;
        // Safe here: the root of the gradient is the caller's loss and the requested tensors are variables.
        if (!this.plan.checkpointBlocks) return withGradientRelease(() => runBlock(x, b, p, { ops }));
        const names = paramNames.filter((name) => name.startsWith(`${b.name}.`));
        return withGradientRelease(() => checkpointed((xi, pi) => runBlock(xi, b, pi, { ops }), x, names, p));
      }
      default:
        throw new Error(`TfjsEngine: the plan has no path for block ${b.name}`);
    }
  }
}
