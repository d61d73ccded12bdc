/**
 * The fused MedNeXt block for tfjs callers (inference): converts PyTorch-layout block weights once, and runs
 * the block on a tfjs tensor when the active backend keeps its data on the host (`cpu`, `wasm`). Returns
 * `null` elsewhere, so a model can write `fusedBlock(...) ?? compositeBlock(...)`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type MedNeXtBlockOptions, type MedNeXtBlockWeights, mednextBlock } from './block.js';
import { getKernelRuntime } from './tfjs.js';
import { transposeMatrix as transpose } from './layout.js';

/** The block's parameters as in the official state dict (PyTorch layouts), as flat float32 arrays. */
export interface TorchBlockParams {
  /** `conv1.weight` [C, 1, k, k, k] (the transposed conv of an up block has the same layout) */
  conv1Weight: Float32Array;
  conv1Bias: Float32Array;
  normWeight: Float32Array;
  normBias: Float32Array;
  /** `conv2.weight` [E, C, 1, 1, 1] */
  conv2Weight: Float32Array;
  conv2Bias: Float32Array;
  /** `conv3.weight` [Cout, E, 1, 1, 1] */
  conv3Weight: Float32Array;
  conv3Bias: Float32Array;
}

/** Converts PyTorch-layout block parameters to the kernels' channels-last layouts (do it once per block). */
export function blockWeightsFromTorch(p: TorchBlockParams, k: number): MedNeXtBlockWeights {
  const c = p.conv1Bias.length;
  const e = p.conv2Bias.length;
  const cout = p.conv3Bias.length;
  const taps = k * k * k;
  if (p.conv1Weight.length !== c * taps)
    throw new Error(`blockWeightsFromTorch: conv1.weight is not [${c}, 1, ${k}, ${k}, ${k}]`);
  if (p.conv2Weight.length !== e * c)
    throw new Error(`blockWeightsFromTorch: conv2.weight is not [${e}, ${c}, 1, 1, 1]`);
  if (p.conv3Weight.length !== cout * e)
    throw new Error(`blockWeightsFromTorch: conv3.weight is not [${cout}, ${e}, 1, 1, 1]`);
  return {
    k,
    dwFilter: transpose(p.conv1Weight, c, taps), // [C, k^3] -> [k^3, C]
    dwBias: p.conv1Bias,
    gamma: p.normWeight,
    beta: p.normBias,
    w2: transpose(p.conv2Weight, e, c), // [E, C] -> [C, E]
    b2: p.conv2Bias,
    w3: transpose(p.conv3Weight, cout, e), // [Cout, E] -> [E, Cout]
    b3: p.conv3Bias,
  };
}

/** Whether {@link fusedBlock} can run on the active tfjs backend. */
export function fusedBlockAvailable(): boolean {
  return ['cpu', 'wasm'].includes(tf.getBackend());
}

/**
 * Runs a MedNeXt block (inference, no gradient) on x [N, D, H, W, C] with the fused WebAssembly kernels, or
 * returns null when the active backend is not a host backend. `residual` (e.g. a down/up block's res_conv
 * path, shaped like the output) is added when given.
 */
export function fusedBlock(
  x: tf.Tensor5D,
  weights: MedNeXtBlockWeights,
  options: Omit<MedNeXtBlockOptions, 'residual'> & { residual?: tf.Tensor5D },
): tf.Tensor5D | null {
  if (!fusedBlockAvailable()) return null;
  const [n, d, h, w, c] = x.shape;
  const data = x.dataSync() as Float32Array;
  const res = options.residual ? (options.residual.dataSync() as Float32Array) : undefined;
  const rt = getKernelRuntime();
  const outs: Float32Array[] = [];
  let shape: [number, number, number, number] = [0, 0, 0, 0];
  for (let b = 0; b < n; b++) {
    const r = mednextBlock(rt, data.subarray(b * d * h * w * c, (b + 1) * d * h * w * c), [d, h, w], weights, {
      ...options,
      residual: res?.subarray((b * res.length) / n, ((b + 1) * res.length) / n),
    });
    outs.push(r.data);
    shape = r.shape;
  }
  const all = n === 1 ? outs[0] : new Float32Array(outs.reduce((a, o) => a + o.length, 0));
  if (n > 1) outs.forEach((o, b) => all.set(o, b * o.length));
  return tf.tensor5d(all, [n, ...shape]);
}
