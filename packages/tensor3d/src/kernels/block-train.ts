/**
 * The MedNeXt block tail for training on the WebAssembly kernels: y = gelu(norm(t) W2 + b2) W3 + b3 over one
 * sample's voxels t [M, C] (GroupNorm with one group per channel, exact GELU), forward and backward. Both passes
 * run over voxel tiles (`block_tail`, `block_tail_backward`): the backward pass recomputes each tile's
 * expansion instead of keeping it, so a training step holds the block's input-sized tensors only, never the
 * 2-4x larger expanded activations or their gradients.
 */
import { channelStatsInMemory, normAffine } from './normact.js';
import { packPanels } from './pointwise.js';
import { type KernelRuntime } from './runtime.js';
import { GEMM_DEFAULT } from './wasm/gen-gemm.js';
import { type BlockTailWeights, blockTileRows } from './block.js';
import { transposeMatrix as transpose } from './layout.js';

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

function dims(fn: string, w: BlockTailWeights, t: Float32Array, m: number): { c: number; e: number; cout: number } {
  const c = w.gamma.length;
  const e = w.b2.length;
  const cout = w.b3.length;
  if (c % 4 || e % 4 || cout % 4)
    throw new Error(`${fn}: C (${c}), E (${e}) and Cout (${cout}) must be multiples of 4`);
  const expect = (name: string, n: number, want: number): void => {
    if (n !== want) throw new Error(`${fn}: ${name} has ${n} values, expected ${want}`);
  };
  expect('beta', w.beta.length, c);
  expect('w2', w.w2.length, c * e);
  expect('w3', w.w3.length, e * cout);
  if (!Number.isInteger(m) || m < 1) throw new Error(`${fn}: M must be a positive integer, got ${m}`);
  expect('t', t.length, m * c);
  return { c, e, cout };
}

/** Packs W [K, N] into GEMM panels and a bias (zeros when absent) padded to them, in scoped kernel memory. */
function putGemm(rt: KernelRuntime, w: Float32Array, k: number, n: number, bias?: Float32Array): [number, number] {
  const nrv = GEMM_DEFAULT.nrv;
  const padded = new Float32Array(Math.ceil(n / (4 * nrv)) * 4 * nrv);
  if (bias) padded.set(bias);
  return [rt.put(packPanels(w, k, n, nrv)), rt.put(padded)];
}

function normOf(rt: KernelRuntime, tA: number, m: number, w: BlockTailWeights, eps: number) {
  const stats = channelStatsInMemory(rt, tA, m, w.gamma.length);
  const aff = normAffine(stats, w.gamma, w.beta, eps);
  const rstd = Float32Array.from(stats.variance, (v) => 1 / Math.sqrt(v + eps));
  return { stats, aff, rstd };
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
  const { c, e, cout } = dims('blockTailForward', w, t, m);
  const mark = rt.mark();
  try {
    const tA = rt.put(t);
    const { aff } = normOf(rt, tA, m, w, eps);
    const [bp2, b2] = putGemm(rt, w.w2, c, e, w.b2);
    const [bp3, b3] = putGemm(rt, w.w3, e, cout, w.b3);
    const [center, scale, shift] = [aff.center, aff.scale, aff.shift].map((v) => rt.put(v));
    if (out && out.length !== m * cout)
      throw new Error(`blockTailForward: out has ${out.length} values, expected ${m * cout}`);
    const y = rt.alloc(m * cout * 4);
    const mt = blockTileRows(c, e);
    const stride = Math.ceil((mt * (c + e) * 4) / 64) * 64;
    const scratch = rt.alloc(stride * rt.threads);
    rt.dispatch(
      'block_tail',
      [tA, center, scale, shift, c, bp2, b2, e, bp3, b3, cout, y, 0, scratch, stride, mt],
      m,
      mt,
    );
    if (!out) return rt.f32(y, m * cout).slice();
    out.set(rt.f32(y, m * cout));
    return out;
  } finally {
    rt.release(mark);
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
  const { c, e, cout } = dims('blockTailBackward', w, t, m);
  if (dy.length !== m * cout) throw new Error(`blockTailBackward: dy has ${dy.length} values, expected ${m * cout}`);
  const mark = rt.mark();
  try {
    const tA = rt.put(t);
    const dyA = rt.put(dy);
    const { stats, aff, rstd } = normOf(rt, tA, m, w, eps);
    const [bp2, b2] = putGemm(rt, w.w2, c, e, w.b2);
    const [bp3t, zeroE] = putGemm(rt, transpose(w.w3, e, cout), cout, e);
    const [bp2t, zeroC] = putGemm(rt, transpose(w.w2, c, e), e, c);
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
    rt.dispatch(
      'block_tail_backward',
      [
        tA,
        center,
        scale,
        shift,
        rstdA,
        gammaA,
        c,
        bp2,
        b2,
        e,
        bp3t,
        zeroE,
        bp2t,
        zeroC,
        dyA,
        cout,
        dxhat,
        partial,
        partialStride,
        scratch,
        scratchStride,
        mt,
      ],
      m,
      mt,
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
    rt.dispatch('affine2', [dxhat, dxhat, tA, rt.put(A), rt.put(B), rt.put(D), c], m, 64);
    if (dtOut && dtOut.length !== m * c) {
      throw new Error(`blockTailBackward: dtOut has ${dtOut.length} values, expected ${m * c}`);
    }
    const dt = dtOut ?? new Float32Array(m * c);
    dt.set(rt.f32(dxhat, m * c));
    return { dt, dGamma, dBeta, dW2, dB2, dW3, dB3 };
  } finally {
    rt.release(mark);
  }
}
