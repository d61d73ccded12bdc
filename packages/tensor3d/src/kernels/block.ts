/**
 * The fused inverted-bottleneck block (ConvNeXt-style; MedNeXt's block) on the WebAssembly kernels (inference): depthwise conv -> GroupNorm (one group per
 * channel) -> expand 1x1x1 -> GELU -> compress 1x1x1 (-> + residual). After the depthwise conv and its
 * statistics, the rest runs over tiles of voxels (`block_tail`), so the expanded tensor never reaches memory:
 * a block holds its input, the depthwise output and its output, instead of also 2-4x the input for the
 * expansion.
 */
import { Tensor3dError } from '../errors.js';
import { depthwiseInMemory, convOutSize, convTransposeOutSize } from './depthwise.js';
import { type ChannelStats, channelStatsInMemory, normAffine } from './normact.js';
import { type PackedGemmWeights, freeGemmWeights, packGemmWeights } from './pointwise.js';
import { type KernelRuntime } from './runtime.js';
import { BLOCK_TAIL_KERNEL } from './wasm/gen-block-tail.js';

/** Weights of a block's tail (norm -> expand -> GELU -> compress), channels-last layouts. */
export interface BlockTailWeights {
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

/** Weights of one block, channels-last layouts (see each field). */
export interface InvertedBottleneckWeights extends BlockTailWeights {
  /** depthwise kernel size (3, 5, 7) */
  k: number;
  /** [k, k, k, C] */
  dwFilter: Float32Array;
  /** [C] */
  dwBias: Float32Array;
}

/** Options of {@link invertedBottleneck}. */
export interface InvertedBottleneckOptions {
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

/** Output spatial size of a block of `kind` with kernel `k` on an input of `spatial`. */
export function blockOutSpatial(
  kind: InvertedBottleneckOptions['kind'],
  k: number,
  spatial: readonly [number, number, number],
): [number, number, number] {
  const pad = k >> 1;
  return spatial.map((n) =>
    kind === 'up' ? convTransposeOutSize(n, k, pad) : convOutSize(n, k, kind === 'down' ? 2 : 1, pad),
  ) as [number, number, number];
}

/**
 * A block tail's weights in kernel memory, packed for the GEMMs (column panels, padded biases); made with
 * {@link packTailWeights} and freed with {@link freeTailWeights}. The norm's affine stays on the host: it is folded
 * into each call's per-channel scale and shift.
 */
export interface PackedTailWeights {
  c: number;
  e: number;
  cout: number;
  gamma: Float32Array;
  beta: Float32Array;
  /** expand [C -> E] and compress [E -> Cout] */
  expand: PackedGemmWeights;
  compress: PackedGemmWeights;
}

/** A whole block's weights in kernel memory ({@link packBlockWeights}, {@link freeBlockWeights}). */
export interface PackedBlockWeights extends PackedTailWeights {
  k: number;
  /** byte addresses in kernel memory */
  dwFilter: number;
  dwBias: number;
}

/** Checks the tail's sizes against C = gamma's length; C and Cout must be multiples of 4. */
export function checkTailWeights(fn: string, w: BlockTailWeights): { c: number; e: number; cout: number } {
  const c = w.gamma.length;
  const e = w.b2.length;
  const cout = w.b3.length;
  if (c % 4 !== 0 || cout % 4 !== 0)
    throw new Tensor3dError('BAD_SHAPE', `${fn}: C (${c}) and Cout (${cout}) must be multiples of 4`);
  const expect = (name: string, arr: Float32Array, n: number): void => {
    if (arr.length !== n)
      throw new Tensor3dError('BAD_SHAPE', `${fn}: ${name} has ${arr.length} values, expected ${n}`);
  };
  expect('beta', w.beta, c);
  expect('w2', w.w2, c * e);
  expect('w3', w.w3, e * cout);
  return { c, e, cout };
}

function checkBlockWeights(fn: string, weights: InvertedBottleneckWeights): void {
  const { k } = weights;
  const { c } = checkTailWeights(fn, weights);
  if (![3, 5, 7].includes(k)) throw new Tensor3dError('BAD_ARGUMENT', `${fn}: k must be 3, 5 or 7, got ${k}`);
  if (weights.dwBias.length !== c)
    throw new Tensor3dError('BAD_SHAPE', `${fn}: dwBias has ${weights.dwBias.length} values, expected ${c}`);
  if (weights.dwFilter.length !== k ** 3 * c) {
    throw new Tensor3dError(
      'BAD_SHAPE',
      `${fn}: dwFilter has ${weights.dwFilter.length} values, expected ${k ** 3 * c}`,
    );
  }
}

/**
 * Copies a block tail's weights into kernel memory (kept until {@link freeTailWeights}). `extraBias3` is added to
 * the compress bias (e.g. an up block's res_conv bias, which lands on every output voxel).
 */
export function packTailWeights(rt: KernelRuntime, w: BlockTailWeights, extraBias3?: Float32Array): PackedTailWeights {
  const { c, e, cout } = checkTailWeights('packTailWeights', w);
  let b3 = w.b3;
  if (extraBias3) {
    if (extraBias3.length !== cout)
      throw new Tensor3dError('BAD_SHAPE', `packTailWeights: extraBias3 needs ${cout} values`);
    b3 = b3.map((v, i) => v + extraBias3[i]);
  }
  return {
    c,
    e,
    cout,
    gamma: w.gamma.slice(),
    beta: w.beta.slice(),
    expand: packGemmWeights(rt, w.w2, c, e, w.b2),
    compress: packGemmWeights(rt, w.w3, e, cout, b3),
  };
}

/** Frees what {@link packTailWeights} allocated. */
export function freeTailWeights(rt: KernelRuntime, p: PackedTailWeights): void {
  freeGemmWeights(rt, p.expand);
  freeGemmWeights(rt, p.compress);
}

/** Copies a block's weights into kernel memory (kept until {@link freeBlockWeights}); see {@link packTailWeights}. */
export function packBlockWeights(
  rt: KernelRuntime,
  weights: InvertedBottleneckWeights,
  extraBias3?: Float32Array,
): PackedBlockWeights {
  checkBlockWeights('packBlockWeights', weights);
  const kept = (data: Float32Array): number => {
    const addr = rt.allocKept(data.length * 4);
    rt.f32(addr, data.length).set(data);
    return addr;
  };
  const tail = packTailWeights(rt, weights, extraBias3);
  return { ...tail, k: weights.k, dwFilter: kept(weights.dwFilter), dwBias: kept(weights.dwBias) };
}

/** Frees what {@link packBlockWeights} allocated. */
export function freeBlockWeights(rt: KernelRuntime, p: PackedBlockWeights): void {
  rt.free(p.dwFilter);
  rt.free(p.dwBias);
  freeTailWeights(rt, p);
}

/** Operands of {@link blockInMemory}: byte addresses in kernel memory, one sample, channels-last. */
export interface BlockInMemory {
  kind: InvertedBottleneckOptions['kind'];
  /** input [D, H, W, C] */
  x: number;
  spatial: [number, number, number];
  /** output [oD, oH, oW, Cout]; may be `dwOut` (same C) or `residual` (written row by row after reading it) */
  out: number;
  /** added to the output, [oD, oH, oW, Cout], or 0 */
  residual: number;
  /** where the depthwise output [oD, oH, oW, C] goes; a scoped temporary when omitted */
  dwOut?: number;
  /** GroupNorm epsilon (default 1e-5) */
  eps?: number;
  /** voxels per tile of the fused tail (default {@link blockTileRows}) */
  tileRows?: number;
}

/**
 * Runs one inverted-bottleneck block on operands in kernel memory: depthwise conv -> GroupNorm statistics -> the fused
 * tail over voxel tiles (norm-apply -> expand -> GELU -> compress -> + residual).
 */
export function blockInMemory(rt: KernelRuntime, w: PackedBlockWeights, a: BlockInMemory): void {
  const out = blockOutSpatial(a.kind, w.k, a.spatial);
  const outV = out[0] * out[1] * out[2];
  const mark = rt.mark();
  try {
    const dw = a.dwOut ?? rt.alloc(outV * w.c * 4);
    blockDepthwise(rt, w, a.kind, a.x, a.spatial, dw, [0, out[0]]);
    const stats = channelStatsInMemory(rt, dw, outV, w.c);
    blockTailInMemory(rt, w, stats, dw, outV, a.out, a.residual, a.eps, a.tileRows);
  } finally {
    rt.release(mark);
  }
}

/** The block's depthwise conv, output planes [z0, z1) only, into `y` (those planes). */
function blockDepthwise(
  rt: KernelRuntime,
  w: PackedBlockWeights,
  kind: InvertedBottleneckOptions['kind'],
  x: number,
  spatial: [number, number, number],
  y: number,
  planes: [number, number],
): void {
  depthwiseInMemory(rt, {
    x,
    y,
    filter: w.dwFilter,
    bias: w.dwBias,
    spatial,
    outSpatial: blockOutSpatial(kind, w.k, spatial),
    c: w.c,
    k: w.k,
    stride: kind === 'block' ? 1 : 2,
    pad: w.k >> 1,
    transposed: kind === 'up',
    planes,
  });
}

/**
 * The fused tail (norm-apply, expand + GELU, compress, + residual) over `rows` rows of h [rows, C] in kernel memory,
 * normalised with `stats` (of the whole sample), into `out` [rows, Cout]; `residual` [rows, Cout] or 0.
 */
export function blockTailInMemory(
  rt: KernelRuntime,
  w: PackedTailWeights,
  stats: ChannelStats,
  h: number,
  rows: number,
  out: number,
  residual: number,
  eps = 1e-5,
  tileRows?: number,
): void {
  const { c, e, cout } = w;
  const mt = tileRows ?? blockTileRows(c, e);
  if (!Number.isInteger(mt) || mt < 4 || mt % 4 !== 0) {
    throw new Tensor3dError('BAD_ARGUMENT', `blockInMemory: tileRows must be a multiple of 4, got ${mt}`);
  }
  const mark = rt.mark();
  try {
    const aff = normAffine(stats, w.gamma, w.beta, eps);
    const [center, scale, shift] = [aff.center, aff.scale, aff.shift].map((v) => rt.put(v));
    const stride = Math.ceil((mt * (c + e) * 4) / 64) * 64;
    const scratch = rt.alloc(stride * rt.threads);
    rt.run(
      BLOCK_TAIL_KERNEL,
      {
        h,
        center,
        scale,
        shift,
        C: c,
        bp2: w.expand.packedB,
        bias2: w.expand.packedBias,
        E: e,
        bp3: w.compress.packedB,
        bias3: w.compress.packedBias,
        Cout: cout,
        out,
        res: residual,
        scratch,
        scratchStride: stride,
        MT: mt,
      },
      { end: rows, grain: mt },
    );
  } finally {
    rt.release(mark);
  }
}

/** Merges per-channel statistics of two disjoint sets of na and nb rows (Chan et al.'s parallel update). */
function mergeStats(a: ChannelStats, na: number, b: ChannelStats, nb: number): ChannelStats {
  const n = na + nb;
  const mean = new Float64Array(a.mean.length);
  const variance = new Float64Array(a.mean.length);
  for (let ch = 0; ch < mean.length; ch++) {
    const delta = b.mean[ch] - a.mean[ch];
    mean[ch] = a.mean[ch] + (delta * nb) / n;
    variance[ch] = (a.variance[ch] * na + b.variance[ch] * nb + (delta * delta * na * nb) / n) / n;
  }
  return { mean, variance };
}

/** Operands of {@link blockInSlabs}. */
export interface BlockInSlabs {
  kind: InvertedBottleneckOptions['kind'];
  /** input [D, H, W, C] in kernel memory */
  x: number;
  spatial: [number, number, number];
  /** output planes (along D) per slab */
  slabPlanes: number;
  /** called with each slab's output [z1 - z0, oH, oW, Cout] (no residual), in order; valid until it returns */
  onSlab: (out: number, z0: number, z1: number) => void;
  /** GroupNorm epsilon (default 1e-5) */
  eps?: number;
}

/**
 * Runs a block a slab of output planes at a time, so that neither its depthwise output nor its output is ever
 * whole in memory: a first pass computes the depthwise conv slab by slab for the GroupNorm statistics only, a
 * second recomputes each slab and runs the tail on it. For blocks whose depthwise output is the largest buffer of
 * a network (the first up block: twice the channels of the skip it is added to, at full resolution); the depthwise
 * conv runs twice, a few percent of the block's work.
 */
export function blockInSlabs(rt: KernelRuntime, w: PackedBlockWeights, a: BlockInSlabs): void {
  const out = blockOutSpatial(a.kind, w.k, a.spatial);
  const planeRows = out[1] * out[2];
  const slab = Math.min(out[0], a.slabPlanes);
  if (!Number.isInteger(slab) || slab < 1)
    throw new Tensor3dError('BAD_ARGUMENT', `blockInSlabs: slabPlanes must be ≥ 1, got ${a.slabPlanes}`);
  const mark = rt.mark();
  try {
    const dw = rt.alloc(slab * planeRows * w.c * 4);
    const res = rt.alloc(slab * planeRows * w.cout * 4);
    let stats: ChannelStats | undefined;
    let counted = 0;
    for (let z0 = 0; z0 < out[0]; z0 += slab) {
      const z1 = Math.min(out[0], z0 + slab);
      const rows = (z1 - z0) * planeRows;
      blockDepthwise(rt, w, a.kind, a.x, a.spatial, dw, [z0, z1]);
      const part = channelStatsInMemory(rt, dw, rows, w.c);
      stats = stats ? mergeStats(stats, counted, part, rows) : part;
      counted += rows;
    }
    for (let z0 = 0; z0 < out[0]; z0 += slab) {
      const z1 = Math.min(out[0], z0 + slab);
      const rows = (z1 - z0) * planeRows;
      blockDepthwise(rt, w, a.kind, a.x, a.spatial, dw, [z0, z1]);
      blockTailInMemory(rt, w, stats as ChannelStats, dw, rows, res, 0, a.eps);
      a.onSlab(res, z0, z1);
    }
  } finally {
    rt.release(mark);
  }
}

/**
 * Runs one inverted-bottleneck block on one sample x [D, H, W, C] (channels-last) and returns [oD, oH, oW, Cout].
 * C and Cout must be multiples of 4 (every MedNeXt configuration's are).
 *
 * @example
 * ```ts
 * const y = invertedBottleneck(rt, x, [d, h, w], weights, { kind: 'block', addInput: true });
 * ```
 */
export function invertedBottleneck(
  rt: KernelRuntime,
  x: Float32Array,
  spatial: [number, number, number],
  weights: InvertedBottleneckWeights,
  options: InvertedBottleneckOptions,
): { data: Float32Array; shape: [number, number, number, number] } {
  const fn = 'invertedBottleneck';
  checkBlockWeights(fn, weights);
  const c = weights.dwBias.length;
  const cout = weights.b3.length;
  const [d, h, w] = spatial;
  const inV = d * h * w;
  if (x.length !== inV * c)
    throw new Tensor3dError('BAD_SHAPE', `${fn}: x has ${x.length} values, expected ${inV * c}`);
  const out = blockOutSpatial(options.kind, weights.k, spatial);
  const outV = out[0] * out[1] * out[2];
  if (options.addInput && (options.kind !== 'block' || cout !== c)) {
    throw new Tensor3dError('BAD_ARGUMENT', `${fn}: addInput needs a plain block with Cout = C`);
  }
  if (options.residual && options.residual.length !== outV * cout) {
    throw new Tensor3dError(
      'BAD_SHAPE',
      `${fn}: residual has ${options.residual.length} values, expected ${outV * cout}`,
    );
  }
  const packed = packBlockWeights(rt, weights);
  const mark = rt.mark();
  try {
    const xA = rt.put(x);
    const res = options.addInput ? xA : options.residual ? rt.put(options.residual) : 0;
    const outA = rt.alloc(outV * cout * 4);
    blockInMemory(rt, packed, {
      kind: options.kind,
      x: xA,
      spatial,
      out: outA,
      residual: res,
      eps: options.eps,
      tileRows: options.tileRows,
    });
    return { data: rt.f32(outA, outV * cout).slice(), shape: [...out, cout] };
  } finally {
    rt.release(mark);
    freeBlockWeights(rt, packed);
  }
}
