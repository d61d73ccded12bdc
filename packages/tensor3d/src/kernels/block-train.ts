/**
 * The inverted-bottleneck tail (e.g. of a MedNeXt block) for training on the WebAssembly kernels: y = gelu(norm(t) W2 + b2) W3 + b3 over one
 * sample's voxels t [M, C] (GroupNorm with one group per channel, exact GELU), forward and backward. Both passes
 * run over voxel tiles (`block_tail`, `block_tail_backward`): the backward pass recomputes each tile's
 * expansion instead of keeping it, so a training step holds the block's input-sized tensors only, never the
 * 2-4x larger expanded activations or their gradients.
 */
import { Tensor3dError } from '../errors.js';
import { channelStatsInMemory, normAffine } from './normact.js';
import { freeGemmWeights, packGemmWeights } from './pointwise.js';
import { type KernelRuntime } from './runtime.js';
import {
  type BlockTailWeights,
  blockTailInMemory,
  blockTileRows,
  checkTailWeights,
  freeTailWeights,
  packTailWeights,
} from './block.js';
import { transposeMatrix as transpose } from './layout.js';
import { BLOCK_TAIL_BACKWARD_KERNEL } from './wasm/gen-block-tail-backward.js';
import { AFFINE2_KERNEL } from './wasm/gen-affine2.js';

/** Gradients of the tail (same layouts as {@link BlockTailWeights}); `dt` is [M, C]. */
export interface BlockTailGrads {
  dt: Float32Array;
  dGamma: Float32Array;
  dBeta: Float32Array;
  dW2: Float32Array;
  dB2: Float32Array;
  dW3: Float32Array;
  dB3: Float32Array;
}

/** The tail's sizes, checked against t [M, C] and `out` [M, n] (n = `outChannels`) when given. */
function dims(
  fn: string,
  w: BlockTailWeights,
  t: Float32Array,
  m: number,
  out?: { name: string; values: Float32Array | undefined; channels: 'c' | 'cout' },
): { c: number; e: number; cout: number } {
  const sizes = checkTailWeights(fn, w);
  const { c, e } = sizes;
  if (e % 4) throw new Tensor3dError('BAD_SHAPE', `${fn}: E (${e}) must be a multiple of 4`);
  if (!Number.isInteger(m) || m < 1)
    throw new Tensor3dError('BAD_ARGUMENT', `${fn}: M must be a positive integer, got ${m}`);
  if (t.length !== m * c) throw new Tensor3dError('BAD_SHAPE', `${fn}: t has ${t.length} values, expected ${m * c}`);
  const want = out && m * sizes[out.channels];
  if (out?.values && out.values.length !== want) {
    throw new Tensor3dError('BAD_SHAPE', `${fn}: ${out.name} has ${out.values.length} values, expected ${want}`);
  }
  return sizes;
}

/**
 * y [M, Cout] = gelu(norm(t) W2 + b2) W3 + b3 for one sample t [M, C]; written into `out` when given (e.g. a view
 * of a tfjs backend's memory), else into a new array.
 */
export function blockTailForward(
  rt: KernelRuntime,
  t: Float32Array,
  m: number,
  w: BlockTailWeights,
  eps = 1e-5,
  out?: Float32Array,
): Float32Array {
  const { cout } = dims('blockTailForward', w, t, m, { name: 'out', values: out, channels: 'cout' });
  const packed = packTailWeights(rt, w);
  const mark = rt.mark();
  try {
    const tA = rt.put(t);
    const y = rt.alloc(m * cout * 4);
    blockTailInMemory(rt, packed, channelStatsInMemory(rt, tA, m, w.gamma.length), tA, m, y, 0, eps);
    const result = out ?? new Float32Array(m * cout);
    result.set(rt.f32(y, m * cout));
    return result;
  } finally {
    rt.release(mark);
    freeTailWeights(rt, packed);
  }
}

/** Rows per backward tile: the tile's n, a and g (C + 2E floats a row) in about 128 KiB. */
function backwardTileRows(c: number, e: number): number {
  return blockTileRows(c, 2 * e);
}

/**
 * Gradients of the tail for one sample, given t [M, C] and dy = dL/dy [M, Cout]: every weight's and the input's,
 * GroupNorm's statistics included (the input gradient is that of the full norm, not only of its affine part).
 * `dtOut` receives the input gradient when given (and is returned as `dt`).
 */
export function blockTailBackward(
  rt: KernelRuntime,
  t: Float32Array,
  dy: Float32Array,
  m: number,
  w: BlockTailWeights,
  eps = 1e-5,
  dtOut?: Float32Array,
): BlockTailGrads {
  const { c, e, cout } = dims('blockTailBackward', w, t, m, { name: 'dtOut', values: dtOut, channels: 'c' });
  if (dy.length !== m * cout)
    throw new Tensor3dError('BAD_SHAPE', `blockTailBackward: dy has ${dy.length} values, expected ${m * cout}`);
  // expand forward (recomputed per tile), and both GEMMs transposed for the gradients flowing back
  const expand = packGemmWeights(rt, w.w2, c, e, w.b2);
  const compressT = packGemmWeights(rt, transpose(w.w3, e, cout), cout, e);
  const expandT = packGemmWeights(rt, transpose(w.w2, c, e), e, c);
  const mark = rt.mark();
  try {
    const tA = rt.put(t);
    const dyA = rt.put(dy);
    const stats = channelStatsInMemory(rt, tA, m, c);
    const aff = normAffine(stats, w.gamma, w.beta, eps);
    const rstd = Float32Array.from(stats.variance, (v) => 1 / Math.sqrt(v + eps));
    const [center, scale, shift, rstdA, gammaA] = [aff.center, aff.scale, aff.shift, rstd, w.gamma].map((v) =>
      rt.put(v),
    );
    const dxhat = rt.alloc(m * c * 4);
    const partialFloats = c * e + e * cout + e + cout + 2 * c;
    const partialStride = Math.ceil((partialFloats * 4) / 64) * 64;
    const partial = rt.alloc(partialStride * rt.threads);
    rt.f32(partial, (partialStride / 4) * rt.threads).fill(0);
    const mt = backwardTileRows(c, e);
    const scratchStride = Math.ceil((mt * (c + 2 * e) * 4) / 64) * 64;
    const scratch = rt.alloc(scratchStride * rt.threads);
    rt.run(
      BLOCK_TAIL_BACKWARD_KERNEL,
      {
        t: tA,
        center,
        scale,
        shift,
        rstd: rstdA,
        gamma: gammaA,
        C: c,
        bp2: expand.packedB,
        bias2: expand.packedBias,
        E: e,
        bp3t: compressT.packedB,
        zeroE: compressT.packedBias,
        bp2t: expandT.packedB,
        zeroC: expandT.packedBias,
        dy: dyA,
        Cout: cout,
        dxhat,
        partial,
        partialStride,
        scratch,
        scratchStride,
        MT: mt,
      },
      { end: m, grain: mt },
    );
    // sum the threads' partials: dW2 [C, E], dW3 [E, Cout], db2 [E], db3 [Cout], dgamma [C], dbeta [C]
    const sums = new Float32Array(partialFloats);
    for (let th = 0; th < rt.threads; th++) {
      const part = rt.f32(partial + th * partialStride, partialFloats);
      for (let i = 0; i < partialFloats; i++) sums[i] += part[i];
    }
    let at = 0;
    const take = (n: number): Float32Array => sums.slice(at, (at += n));
    const dW2 = take(c * e);
    const dW3 = take(e * cout);
    const dB2 = take(e);
    const dB3 = take(cout);
    const dGamma = take(c);
    const dBeta = take(c);
    // dt = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), with sum dxhat = gamma dbeta and
    // sum dxhat xhat = gamma dgamma: an affine map of (dxhat, t) per channel.
    const A = new Float32Array(c);
    const B = new Float32Array(c);
    const D = new Float32Array(c);
    for (let ch = 0; ch < c; ch++) {
      const r = rstd[ch];
      const g1 = (w.gamma[ch] * dBeta[ch]) / m;
      const g2 = (w.gamma[ch] * dGamma[ch]) / m;
      A[ch] = r;
      B[ch] = -r * r * g2;
      D[ch] = -r * g1 + stats.mean[ch] * r * r * g2;
    }
    rt.run(
      AFFINE2_KERNEL,
      { out: dxhat, x: dxhat, y: tA, A: rt.put(A), B: rt.put(B), D: rt.put(D), C: c },
      { end: m, grain: 64 },
    );
    const dt = dtOut ?? new Float32Array(m * c);
    dt.set(rt.f32(dxhat, m * c));
    return { dt, dGamma, dBeta, dW2, dB2, dW3, dB3 };
  } finally {
    rt.release(mark);
    for (const g of [expand, compressT, expandT]) freeGemmWeights(rt, g);
  }
}
