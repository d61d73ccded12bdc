/**
 * The fused MedNeXt block on the WebAssembly kernels (inference): depthwise conv -> GroupNorm (one group per
 * channel) -> expand 1x1x1 -> GELU -> compress 1x1x1 (-> + residual). After the depthwise conv and its
 * statistics, the rest runs over tiles of voxels (`block_tail`), so the expanded tensor never reaches memory:
 * a block holds its input, the depthwise output and its output, instead of also 2-4x the input for the
 * expansion.
 */
import { depthwiseInMemory, convOutSize, convTransposeOutSize } from './depthwise.js';
import { channelStatsInMemory, normAffine } from './normact.js';
import { packPanels } from './pointwise.js';
import { type KernelRuntime } from './runtime.js';
import { GEMM_DEFAULT } from './wasm/gen-gemm.js';

/** Weights of one block, channels-last layouts (see each field). */
export interface MedNeXtBlockWeights {
  /** depthwise kernel size (3, 5, 7) */
  k: number;
  /** [k, k, k, C] */
  dwFilter: Float32Array;
  /** [C] */
  dwBias: Float32Array;
  /** GroupNorm affine, [C] each */
  gamma: Float32Array;
  beta: Float32Array;
  /** expand weights [C, E] (row-major; PyTorch `conv2.weight` [E, C, 1, 1, 1] transposed) */
  w2: Float32Array;
  /** [E] */
  b2: Float32Array;
  /** compress weights [E, Cout] (PyTorch `conv3.weight` [Cout, E, 1, 1, 1] transposed) */
  w3: Float32Array;
  /** [Cout] */
  b3: Float32Array;
}

/** Options of {@link mednextBlock}. */
export interface MedNeXtBlockOptions {
  /** `block`: stride-1 depthwise; `down`: stride 2; `up`: transposed stride 2 (output 2n-1, no padding). */
  kind: 'block' | 'down' | 'up';
  /** Add the block input to the output (plain blocks with do_res; needs Cout = C). */
  addInput?: boolean;
  /** A residual to add, [oD, oH, oW, Cout] (e.g. the down/up block's res_conv path). */
  residual?: Float32Array;
  /** GroupNorm epsilon (default 1e-5). */
  eps?: number;
  /** Voxels per tile (default {@link blockTileRows}); a multiple of 4. */
  tileRows?: number;
}

/** Rows per tile so that one tile of the normalised input and of the expansion is about 128 KiB. */
export function blockTileRows(c: number, e: number): number {
  const rows = Math.floor(131072 / ((c + e) * 4));
  return Math.max(16, rows - (rows % 4));
}

/**
 * Runs one MedNeXt block on one sample x [D, H, W, C] (channels-last) and returns [oD, oH, oW, Cout].
 * C and Cout must be multiples of 4 (every MedNeXt configuration's are).
 */
export function mednextBlock(
  rt: KernelRuntime,
  x: Float32Array,
  spatial: [number, number, number],
  weights: MedNeXtBlockWeights,
  options: MedNeXtBlockOptions,
): { data: Float32Array; shape: [number, number, number, number] } {
  const fn = 'mednextBlock';
  const { k } = weights;
  const c = weights.dwBias.length;
  const e = weights.b2.length;
  const cout = weights.b3.length;
  const [d, h, w] = spatial;
  const inV = d * h * w;
  if (c % 4 !== 0 || cout % 4 !== 0) throw new Error(`${fn}: C (${c}) and Cout (${cout}) must be multiples of 4`);
  const expect = (name: string, arr: Float32Array, n: number): void => {
    if (arr.length !== n) throw new Error(`${fn}: ${name} has ${arr.length} values, expected ${n}`);
  };
  expect('x', x, inV * c);
  expect('dwFilter', weights.dwFilter, k ** 3 * c);
  expect('gamma', weights.gamma, c);
  expect('beta', weights.beta, c);
  expect('w2', weights.w2, c * e);
  expect('w3', weights.w3, e * cout);
  if (![3, 5, 7].includes(k)) throw new Error(`${fn}: k must be 3, 5 or 7, got ${k}`);
  const pad = k >> 1;
  const out = spatial.map((n) =>
    options.kind === 'up' ? convTransposeOutSize(n, k, pad) : convOutSize(n, k, options.kind === 'down' ? 2 : 1, pad),
  ) as [number, number, number];
  const outV = out[0] * out[1] * out[2];
  if (options.addInput && (options.kind !== 'block' || cout !== c)) {
    throw new Error(`${fn}: addInput needs a plain block with Cout = C`);
  }
  if (options.residual) expect('residual', options.residual, outV * cout);

  const mark = rt.mark();
  try {
    const xA = rt.put(x);
    const hA = rt.alloc(outV * c * 4);
    depthwiseInMemory(rt, {
      x: xA,
      y: hA,
      filter: rt.put(weights.dwFilter),
      bias: rt.put(weights.dwBias),
      spatial,
      outSpatial: out,
      c,
      k,
      stride: options.kind === 'block' ? 1 : 2,
      pad,
      transposed: options.kind === 'up',
    });
    const aff = normAffine(channelStatsInMemory(rt, hA, outV, c), weights.gamma, weights.beta, options.eps ?? 1e-5);
    const nrv = GEMM_DEFAULT.nrv;
    const nw = 4 * nrv;
    const paddedBias = (b: Float32Array): number => {
      const p = new Float32Array(Math.ceil(b.length / nw) * nw);
      p.set(b);
      return rt.put(p);
    };
    const bp2 = rt.put(packPanels(weights.w2, c, e, nrv));
    const bp3 = rt.put(packPanels(weights.w3, e, cout, nrv));
    const [b2, b3] = [paddedBias(weights.b2), paddedBias(weights.b3)];
    const [center, scale, shift] = [aff.center, aff.scale, aff.shift].map((v) => rt.put(v));
    const res = options.addInput ? xA : options.residual ? rt.put(options.residual) : 0;
    const outA = rt.alloc(outV * cout * 4);
    const mt = options.tileRows ?? blockTileRows(c, e);
    if (!Number.isInteger(mt) || mt < 4 || mt % 4 !== 0)
      throw new Error(`${fn}: tileRows must be a multiple of 4, got ${mt}`);
    const stride = Math.ceil((mt * (c + e) * 4) / 64) * 64;
    const scratch = rt.alloc(stride * rt.threads);
    rt.dispatch(
      'block_tail',
      [hA, center, scale, shift, c, bp2, b2, e, bp3, b3, cout, outA, res, scratch, stride, mt],
      outV,
      mt,
    );
    return { data: rt.f32(outA, outV * cout).slice(), shape: [...out, cout] };
  } finally {
    rt.release(mark);
  }
}
