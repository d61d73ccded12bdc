/**
 * The block tail (GroupNorm -> expand -> GELU -> compress) as one differentiable op on the WebAssembly kernels of
 * `@mednext-ts/tensor3d`, for training on the host backends with the fast kernels enabled: the forward and the
 * backward pass both run over voxel tiles on all kernel threads, and the gradient tape keeps only the tail's
 * input t (C channels), where the composite lean path keeps the conv2 output (E = exp_r * C channels) and
 * materialises E-channel tensors in its backward pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernels } from '@mednext-ts/tensor3d';
import { NORM_EPS } from '../../../model/architecture.js';
import { leanCustomGrad } from './lean-ops.js';

/** Host copies in the kernels' layouts; w2 is PyTorch's [E, C], w3 [Cout, E]. */
function tailWeights(params: tf.Tensor[]): wasmKernels.BlockTailWeights {
  const [gamma, beta, w2, b2, w3, b3] = params.map((p) => (p.dataSync() as Float32Array).slice());
  const c = gamma.length;
  const e = b2.length;
  const cout = b3.length;
  return {
    gamma,
    beta,
    w2: wasmKernels.transposeMatrix(w2, e, c),
    b2,
    w3: wasmKernels.transposeMatrix(w3, cout, e),
    b3,
  };
}

const fusedTailOp = leanCustomGrad((...args: unknown[]) => {
  const save = args.pop() as tf.GradSaveFunc;
  const [t, ...params] = args as tf.Tensor[];
  const [n, v, c] = t.shape;
  const cout = params[5].shape[0];
  const w = tailWeights(params);
  const rt = wasmKernels.getKernelRuntime();
  // Read t and write the output in place in the backend's memory (no host copies of either).
  const [value] = wasmKernels.withHostArrays([t], [[n, v, cout]], ([td], [out]) => {
    for (let i = 0; i < n; i++) {
      const sample = (a: Float32Array, ch: number): Float32Array => a.subarray(i * v * ch, (i + 1) * v * ch);
      wasmKernels.blockTailForward(rt, sample(td, c), v, w, NORM_EPS, sample(out, cout));
    }
  });
  save([t, ...params]);
  return {
    value: value as tf.Tensor3D,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [ts, ...ps] = saved;
      const ws = tailWeights(ps);
      const e = ws.b2.length;
      const sums = {
        dGamma: new Float32Array(c),
        dBeta: new Float32Array(c),
        dW2: new Float32Array(c * e),
        dB2: new Float32Array(e),
        dW3: new Float32Array(e * cout),
        dB3: new Float32Array(cout),
      };
      const [dt] = wasmKernels.withHostArrays([ts, dy], [[n, v, c]], ([td, dyd], [dtd]) => {
        for (let i = 0; i < n; i++) {
          const sample = (a: Float32Array, ch: number): Float32Array => a.subarray(i * v * ch, (i + 1) * v * ch);
          const g = wasmKernels.blockTailBackward(
            rt,
            sample(td, c),
            sample(dyd, cout),
            v,
            ws,
            NORM_EPS,
            sample(dtd, c),
          );
          for (const key of Object.keys(sums) as (keyof typeof sums)[]) {
            const acc = sums[key];
            for (let j = 0; j < acc.length; j++) acc[j] += g[key][j];
          }
        }
      });
      return [
        dt,
        tf.tensor(sums.dGamma, ps[0].shape),
        tf.tensor(sums.dBeta, ps[1].shape),
        tf.tensor(wasmKernels.transposeMatrix(sums.dW2, c, e), ps[2].shape), // [C, E] -> PyTorch's [E, C]
        tf.tensor(sums.dB2, ps[3].shape),
        tf.tensor(wasmKernels.transposeMatrix(sums.dW3, e, cout), ps[4].shape), // [E, Cout] -> [Cout, E]
        tf.tensor(sums.dB3, ps[5].shape),
      ];
    },
  };
});

/**
 * `gelu(norm(t) W2ᵀ + b2) W3ᵀ + b3` on t `[N, V, C]` (GroupNorm per sample and channel with γ, β; W2 `[E, C]`,
 * W3 `[Cout, E]` as in PyTorch, flattened), returning `[N, V, Cout]`; differentiable in every input. Keeps only
 * t and the parameters for the backward pass.
 */
export function fusedTailLean(
  t: tf.Tensor3D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  w2: tf.Tensor2D,
  b2: tf.Tensor,
  w3: tf.Tensor2D,
  b3: tf.Tensor,
): tf.Tensor3D {
  if (t.rank !== 3) throw new Error(`fusedTailLean: expected a [N, V, C] tensor, got shape [${t.shape}]`);
  return fusedTailOp(t, gamma, beta, w2, b2, w3, b3) as tf.Tensor3D;
}
