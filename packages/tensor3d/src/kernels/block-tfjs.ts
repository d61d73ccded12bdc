/**
 * The fused inverted-bottleneck block for tfjs callers (inference): runs the block on a tfjs tensor when the
 * active backend keeps its data on the host (`cpu`, `wasm`). Returns `null` elsewhere, so a model can write
 * `fusedBlock(...) ?? compositeBlock(...)`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type InvertedBottleneckOptions, type InvertedBottleneckWeights, invertedBottleneck } from './block.js';
import { getKernelRuntime } from './tfjs.js';

/** Whether {@link fusedBlock} can run on the active tfjs backend. */
export function fusedBlockAvailable(): boolean {
  return ['cpu', 'wasm'].includes(tf.getBackend());
}

/**
 * Runs an inverted-bottleneck block (inference, no gradient) on x [N, D, H, W, C] with the fused WebAssembly kernels, or
 * returns null when the active backend is not a host backend. `residual` (e.g. a down/up block's res_conv
 * path, shaped like the output) is added when given.
 */
export function fusedBlock(
  x: tf.Tensor5D,
  weights: InvertedBottleneckWeights,
  options: Omit<InvertedBottleneckOptions, 'residual'> & { residual?: tf.Tensor5D },
): tf.Tensor5D | null {
  if (!fusedBlockAvailable()) return null;
  const [n, d, h, w, c] = x.shape;
  const data = x.dataSync() as Float32Array;
  const res = options.residual ? (options.residual.dataSync() as Float32Array) : undefined;
  const rt = getKernelRuntime();
  const outs: Float32Array[] = [];
  let shape: [number, number, number, number] = [0, 0, 0, 0];
  for (let b = 0; b < n; b++) {
    const r = invertedBottleneck(rt, data.subarray(b * d * h * w * c, (b + 1) * d * h * w * c), [d, h, w], weights, {
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
