/**
 * MedNeXt blocks on the fused WebAssembly block of `@mednext-ts/tensor3d` (inference only): depthwise conv,
 * GroupNorm, expand + GELU and compress run over voxel tiles, so the expanded tensor never reaches memory and
 * tfjs dispatches one op per block instead of a dozen. Used by {@link MedNeXt.forward} outside a gradient tape
 * on the host backends (`cpu`, `wasm`) when the fast kernels are enabled; everything else (GRN blocks, channel
 * counts the kernel does not take, other backends, training) keeps the composite path of {@link runBlock}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernels } from '@mednext-ts/tensor3d';
import { type TorchBlockParams, blockWeightsFromTorch } from '../weights/kernel-layout.js';
import type { BlockSpec } from './architecture.js';
import { NORM_EPS, padFront, pointwise, pointwiseTransposed, spread2, subsample2, type ParamGetter } from './layers.js';

type BlockWeights = wasmKernels.InvertedBottleneckWeights;

/** The parameter names of a block's fused weights, in {@link TorchBlockParams} order. */
const PARTS = [
  ['conv1Weight', 'conv1.weight'],
  ['conv1Bias', 'conv1.bias'],
  ['normWeight', 'norm.weight'],
  ['normBias', 'norm.bias'],
  ['conv2Weight', 'conv2.weight'],
  ['conv2Bias', 'conv2.bias'],
  ['conv3Weight', 'conv3.weight'],
  ['conv3Bias', 'conv3.bias'],
] as const;

/**
 * Whether fused blocks can run now: the active backend keeps its data on the host and the fast kernels serve
 * it (the user enabled them, e.g. through `selectBackend('auto')` or `enableFastKernels`).
 */
export function fusedBlocksUsable(): boolean {
  return wasmKernels.fusedBlockAvailable() && wasmKernels.fastKernelsActive();
}

/** Whether the fused kernel implements block `b` (no GRN; k 3/5/7; channel counts that are multiples of 4). */
export function fusedBlockSupports(b: BlockSpec): boolean {
  return !b.grn && [3, 5, 7].includes(b.kernel) && b.cIn % 4 === 0 && b.cOut % 4 === 0;
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
    const tensors = PARTS.map(([, name]) => p(`${b.name}.${name}`));
    const data = tensors.map((t) => t.dataId);
    const hit = this.cache.get(b.name);
    if (hit && hit.data.every((d, i) => d === data[i])) return hit.weights;
    // Copies: on wasm dataSync may return a view of the backend's heap, which later ops may reuse.
    const params = Object.fromEntries(
      PARTS.map(([key], i) => [key, (tensors[i].dataSync() as Float32Array).slice()]),
    ) as unknown as TorchBlockParams;
    const weights = blockWeightsFromTorch(params, b.kernel);
    this.cache.set(b.name, { data, weights });
    return weights;
  }

  /** Forgets every converted block (frees their memory). */
  clear(): void {
    this.cache.clear();
  }
}

/**
 * Runs block `b` on x (NDHWC) with the fused kernel, with the same result as {@link runBlock}: plain blocks add
 * their input, down blocks add res_conv of the stride-2 subsampled input, up blocks add the transposed stride-2
 * res_conv (spread to 2n-1, plus its bias) and get their one-voxel front padding afterwards. Returns null when
 * the block or the backend is not supported, so the caller falls back to the composite path. No gradient.
 */
export function runFusedBlock(
  x: tf.Tensor5D,
  b: BlockSpec,
  p: ParamGetter,
  weights: FusedBlockWeights,
): tf.Tensor5D | null {
  if (!fusedBlockSupports(b) || !fusedBlocksUsable()) return null;
  const w = weights.get(b, p);
  const residual = b.residual && b.kind !== 'block' ? tf.tidy(() => resConv(x, b, p)) : undefined;
  try {
    const out = wasmKernels.fusedBlock(x, w, {
      kind: b.kind,
      addInput: b.kind === 'block' && b.residual,
      residual,
      eps: NORM_EPS,
    });
    if (!out || b.kind !== 'up') return out;
    return padFront(out, true);
  } finally {
    residual?.dispose();
  }
}

/** The res_conv path of a down or up block, shaped like the block's (unpadded) output. */
function resConv(x: tf.Tensor5D, b: BlockSpec, p: ParamGetter): tf.Tensor5D {
  const weight = p(`${b.name}.res_conv.weight`);
  const bias = p(`${b.name}.res_conv.bias`);
  if (b.kind === 'down') return pointwise(subsample2(x), weight, bias);
  // Transposed 1x1x1 stride 2: W^T x at even positions, the bias everywhere (zeros between get only the bias).
  const spread = spread2(pointwiseTransposed(x, weight, null));
  const c = spread.shape[4];
  return tf.reshape(tf.add(tf.reshape(spread, [-1, c]), bias), spread.shape);
}
