/**
 * A MedNeXt block on the fused WebAssembly block of `@mednext-ts/tensor3d` with tfjs tensors in and out
 * (inference only): depthwise conv, GroupNorm, expand + GELU and compress run over voxel tiles, so the expanded
 * tensor never reaches memory and tfjs dispatches one op per block instead of a dozen. The plan
 * ({@link ../../plan.ts planForward}) gives a block this path on the host backends with the fast kernels on, for
 * the blocks the kernel takes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernels } from '@mednext-ts/tensor3d';
import { blockWeightsFromTorch, type TorchBlockParams } from '../../../weights/kernel-layout.js';
import { NORM_EPS, type BlockSpec } from '../../../model/architecture.js';
import { PLAIN_OPS } from './block-ops.js';
import { blockOutSpatial, residualRows } from './block.js';
import { padFront, type ParamGetter } from './layers.js';

type BlockWeights = wasmKernels.InvertedBottleneckWeights;

/** The parameter names of a block's fused weights, in {@link TorchBlockParams} order. */
export const FUSED_BLOCK_PARTS = [
  ['conv1Weight', 'conv1.weight'],
  ['conv1Bias', 'conv1.bias'],
  ['normWeight', 'norm.weight'],
  ['normBias', 'norm.bias'],
  ['conv2Weight', 'conv2.weight'],
  ['conv2Bias', 'conv2.bias'],
  ['conv3Weight', 'conv3.weight'],
  ['conv3Bias', 'conv3.bias'],
] as const;

/** Host copies of block `b`'s parameters in the kernel's PyTorch-layout form. */
export function torchBlockParams(b: BlockSpec, p: ParamGetter): TorchBlockParams {
  // Copies: on wasm dataSync may return a view of the backend's heap, which later ops may reuse.
  return Object.fromEntries(
    FUSED_BLOCK_PARTS.map(([key, name]) => [key, (p(`${b.name}.${name}`).dataSync() as Float32Array).slice()]),
  ) as unknown as TorchBlockParams;
}

/**
 * The fused-kernel weights of a model's blocks, converted from the PyTorch-layout parameters once and reused
 * until a parameter changes. A parameter counts as changed when its tensor data is another one (`Variable.assign`
 * and weight loading swap the data), so training between two inferences cannot leave stale weights here.
 */
export class FusedBlockWeights {
  private readonly cache = new Map<string, { data: object[]; weights: BlockWeights }>();

  /** The converted weights of block `b`, from the cache when its parameters are the ones converted last. */
  get(b: BlockSpec, p: ParamGetter): BlockWeights {
    const data = FUSED_BLOCK_PARTS.map(([, name]) => p(`${b.name}.${name}`).dataId);
    const hit = this.cache.get(b.name);
    if (hit && hit.data.every((d, i) => d === data[i])) return hit.weights;
    const weights = blockWeightsFromTorch(torchBlockParams(b, p), b.kernel);
    this.cache.set(b.name, { data, weights });
    return weights;
  }

  /** Forgets every converted block (frees their memory). */
  clear(): void {
    this.cache.clear();
  }
}

/**
 * Runs block `b` on x (NDHWC) with the fused kernel, with the same result as the composite block: plain blocks
 * add their input, down and up blocks add their `res_conv` path ({@link residualRows}, shaped like the unpadded
 * output) and up blocks get their one-voxel front padding afterwards. No gradient.
 * @throws when the active backend is not a host backend (the plan does not give this path there)
 */
export function fusedKernelBlock(
  x: tf.Tensor5D,
  b: BlockSpec,
  p: ParamGetter,
  weights: FusedBlockWeights,
): tf.Tensor5D {
  const w = weights.get(b, p);
  const residual =
    b.residual && b.kind !== 'block'
      ? tf.tidy(() => {
          const [n, d, h, wd] = x.shape;
          const os = blockOutSpatial(b, [d, h, wd]);
          return tf.reshape(residualRows(x, b, p, PLAIN_OPS, n, os[0] * os[1] * os[2]), [n, ...os, b.cOut]);
        })
      : undefined;
  try {
    const out = wasmKernels.fusedBlock(x, w, {
      kind: b.kind,
      addInput: b.kind === 'block' && b.residual,
      residual: residual as tf.Tensor5D | undefined,
      eps: NORM_EPS,
    });
    if (!out) throw new Error(`fusedKernelBlock: backend ${tf.getBackend()} is not a host backend (${b.name})`);
    return b.kind === 'up' ? padFront(out, true) : out;
  } finally {
    residual?.dispose();
  }
}
