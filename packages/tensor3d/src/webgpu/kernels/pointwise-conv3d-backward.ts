/**
 * Gradients of {@link pointwiseConv3d} (channels-first, one sample; y[co, o] = b[co] + sum_ci W[co, ci] x[ci, s·o]):
 *
 *   dx[ci, i] = sum_co W[co, ci] dy[co, o]  where i = s·o on every axis, 0 at voxels the stride skips;
 *   dW[co, ci] = sum_o dy[co, o] x[ci, s·o];   db[co] = sum_o dy[co, o].
 *
 * The weight-gradient kernel is a channel-by-channel reduction over voxels, `A · Bᵀ` for A [M, V] and B [N, V];
 * it can transform B on the fly — normalise it (B = (x - mean) · rstd · gamma + beta per channel) or apply a
 * per-channel scale and shift (GRN) — so the inverted bottleneck's weight gradients need no stored normalised or
 * GRN-scaled tensor.
 */
import { defineKernel, gridParams, wgslChannelVoxelThread, GRID_PARAMS } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 64;

/** Constants of the pointwise gradient kernels' outputs: add to the tensors' contents instead of overwriting. */
export interface AccumulateVariant {
  accumulate: boolean;
}

/** dx of a pointwise convolution. One thread per input value. */
export const pointwiseConv3dInputGradKernel = defineKernel({
  name: 'pointwiseConv3dInputGrad',
  workgroupSize: WORKGROUP,
  params: {
    inChannels: { type: 'u32', doc: 'input channels CI' },
    outChannels: { type: 'u32', doc: 'output channels CO' },
    ...GRID_PARAMS,
    stride: { type: 'u32', doc: 'forward stride' },
  },
  bindings: () => [
    { name: 'gradOutput', access: 'read', doc: 'dy [CO, outD, outH, outW]' },
    { name: 'weight', access: 'read', doc: 'W [CO, CI]' },
    { name: 'gradInput', access: 'read_write', doc: 'dx [CI, inD, inH, inW]' },
  ],
  body: (v: AccumulateVariant) => /* wgsl */ `
fn main(group: u32, local: u32) {
  let inVox = params.inD * params.inH * params.inW;
  ${wgslChannelVoxelThread({ workgroup: WORKGROUP, channels: 'params.inChannels', voxels: 'inVox', channel: 'ci', voxel: 'i' })}
  let iw = i % params.inW;
  let ih = (i / params.inW) % params.inH;
  let id = i / (params.inW * params.inH);
  let s = params.stride;
  if (iw % s != 0u || ih % s != 0u || id % s != 0u ||
      iw / s >= params.outW || ih / s >= params.outH || id / s >= params.outD) {
    ${v.accumulate ? '' : 'gradInput[idx] = 0.0;'}
    return;
  }
  let outVox = params.outD * params.outH * params.outW;
  let o = ((id / s) * params.outH + ih / s) * params.outW + iw / s;
  var acc = 0.0;
  for (var co = 0u; co < params.outChannels; co++) {
    acc += weight[co * params.inChannels + ci] * gradOutput[co * outVox + o];
  }
  gradInput[idx] = ${v.accumulate ? 'gradInput[idx] + acc' : 'acc'};
}
`,
});

/**
 * Constants of {@link channelProductKernel}: how B is transformed on the fly — `none`; `norm`: (b - mean) · rstd ·
 * gamma + beta per channel; `scaleShift`: b · scale + shift per channel (GRN's affine, [N, 2]).
 */
export interface ChannelProductVariant {
  transformB: 'none' | 'norm' | 'scaleShift';
}

/** Rows (m) of the tile of outputs one {@link channelProductKernel} workgroup computes; each thread holds all. */
const TILE_M = 8;
/**
 * Columns (n) of that tile. The threads' sums take TILE_M · TILE_N · STEP floats of workgroup memory: 8 · 8 · 64 · 4
 * bytes = 16 KiB, the compatibility-level limit; 8 × 8 measured ~2x faster than 4 × 4 on llvmpipe.
 */
const TILE_N = 8;
/** Threads of a channelProduct workgroup; they stride the chunk's voxels, then add their sums in a fixed tree. */
const STEP = 64;
/** Voxels per chunk: at least this many, so a partial sum is worth its write. */
const MIN_CHUNK = 1024;
/** Largest count of voxel chunks (partial sums per output). */
const MAX_CHUNKS = 64;
/** Largest partials tensor, in floats (16 MiB), so wide layers use fewer, longer chunks. */
const MAX_PARTIAL_FLOATS = 1 << 22;

/** WGSL lines, one per (i, j) of the tile, from a template with `$i` and `$j`. */
function perTile(template: string, rows = TILE_M, cols = TILE_N): string {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) lines.push(template.replaceAll('$i', `${i}`).replaceAll('$j', `${j}`));
  return lines.join('\n  ');
}

/**
 * Partial sums of dW[m, n] = sum_v A[m, v] · B[n, v·stride] and db[m] = sum_v A[m, v] over one chunk of voxels.
 * B has a virtual last row of ones (n = N), so the bias is column N of the same product. A workgroup computes a
 * TILE_M × TILE_N tile of outputs over chunk c: each thread keeps the whole tile in registers and reads, per
 * voxel, TILE_M values of A and TILE_N of B (each serving TILE_N or TILE_M products, against one product per two
 * loads untiled); the threads' sums are then added in a fixed tree in workgroup memory. Writes partials[c, m, n]
 * for n ≤ N; {@link channelProductReduceKernel} adds the chunks in order. No atomics: results are bit-identical
 * run to run. Register tiling rather than staging in workgroup memory because a barrier per staged slice is
 * what software adapters (llvmpipe, SwiftShader) pay most for.
 */
export const channelProductKernel = defineKernel({
  name: 'channelProduct',
  workgroupSize: STEP,
  params: {
    rows: { type: 'u32', doc: 'M, channels of A (the output gradient)' },
    cols: { type: 'u32', doc: 'N, channels of B (the forward input)' },
    outD: { type: 'u32', doc: 'depth of A' },
    outH: { type: 'u32', doc: 'height of A' },
    outW: { type: 'u32', doc: 'width of A' },
    inD: { type: 'u32', doc: 'depth of B' },
    inH: { type: 'u32', doc: 'height of B' },
    inW: { type: 'u32', doc: 'width of B' },
    stride: { type: 'u32', doc: 'B voxel read for A voxel o is stride · o on every axis' },
    chunk: { type: 'u32', doc: 'voxels of A per chunk' },
  },
  bindings: (v: ChannelProductVariant) => [
    { name: 'gradOutput', access: 'read', doc: 'A [M, outD, outH, outW]' },
    { name: 'input', access: 'read', doc: 'B [N, inD, inH, inW]' },
    ...(v.transformB === 'scaleShift'
      ? [{ name: 'scaleShift', access: 'read' as const, doc: 'B affine [N, 2]: scale, shift' }]
      : []),
    ...(v.transformB === 'norm'
      ? [
          { name: 'stats', access: 'read' as const, doc: 'B statistics [N, 2]: mean, 1/sqrt(var + eps)' },
          { name: 'affine', access: 'read' as const, doc: 'B affine: gamma [N], then beta [N]' },
        ]
      : []),
    { name: 'partials', access: 'read_write', doc: 'per-chunk sums [chunks, M, N + 1] (column N: db)' },
  ],
  body: (v: ChannelProductVariant) => /* wgsl */ `
var<workgroup> sums: array<f32, ${TILE_M * TILE_N * STEP}>;
fn main(group: u32, local: u32) {
  let M = params.rows;
  let N = params.cols;
  let tilesM = (M + ${TILE_M - 1}u) / ${TILE_M}u;
  let tilesN = (N + ${TILE_N}u) / ${TILE_N}u; // N + 1 columns (the bias's)
  let tileIndex = group % (tilesM * tilesN);
  let c = group / (tilesM * tilesN);
  let m0 = (tileIndex / tilesN) * ${TILE_M}u;
  let n0 = (tileIndex % tilesN) * ${TILE_N}u;
  let outVox = params.outD * params.outH * params.outW;
  let inVox = params.inD * params.inH * params.inW;
  let s = params.stride;
  let first = c * params.chunk;
  let last = min(first + params.chunk, outVox);
  // Rows past M read row M - 1 (never written); column N is the bias's ones, columns past it zeros (never written).
  ${perTile('let rowA$i = min(m0 + $iu, M - 1u) * outVox;', TILE_M, 1)}
  ${perTile('let colB$j = min(n0 + $ju, N - 1u) * inVox;', 1, TILE_N)}
  ${perTile('let isBias$j = n0 + $ju == N;', 1, TILE_N)}
  ${perTile('let isData$j = n0 + $ju < N;', 1, TILE_N)}
  ${
    v.transformB === 'norm'
      ? perTile(
          'let nb$j = min(n0 + $ju, N - 1u); let mean$j = stats[2u * nb$j]; ' +
            'let scale$j = stats[2u * nb$j + 1u] * affine[nb$j]; let shift$j = affine[N + nb$j];',
          1,
          TILE_N,
        )
      : ''
  }
  ${
    v.transformB === 'scaleShift'
      ? perTile(
          'let nb$j = min(n0 + $ju, N - 1u); let scale$j = scaleShift[2u * nb$j]; let shift$j = scaleShift[2u * nb$j + 1u];',
          1,
          TILE_N,
        )
      : ''
  }
  ${perTile('var acc$i$j = 0.0;')}
  for (var o = first + local; o < last; o += ${STEP}u) {
    let ow = o % params.outW;
    let oh = (o / params.outW) % params.outH;
    let od = o / (params.outW * params.outH);
    let src = ((od * s) * params.inH + oh * s) * params.inW + ow * s;
    ${perTile('let a$i = gradOutput[rowA$i + o];', TILE_M, 1)}
    ${perTile('var x$j = input[colB$j + src];', 1, TILE_N)}
    ${v.transformB === 'norm' ? perTile('x$j = (x$j - mean$j) * scale$j + shift$j;', 1, TILE_N) : ''}
    ${v.transformB === 'scaleShift' ? perTile('x$j = x$j * scale$j + shift$j;', 1, TILE_N) : ''}
    ${perTile('let b$j = select(select(0.0, 1.0, isBias$j), x$j, isData$j);', 1, TILE_N)}
    ${perTile('acc$i$j += a$i * b$j;')}
  }
  ${perTile(`sums[($i * ${TILE_N}u + $ju) * ${STEP}u + local] = acc$i$j;`)}
  workgroupBarrier();
  for (var r = ${STEP / 2}u; r > 0u; r = r >> 1u) {
    if (local < r) {
      for (var k = 0u; k < ${TILE_M * TILE_N}u; k++) { sums[k * ${STEP}u + local] += sums[k * ${STEP}u + local + r]; }
    }
    workgroupBarrier();
  }
  if (local < ${TILE_M * TILE_N}u) {
    let m = m0 + local / ${TILE_N}u;
    let n = n0 + local % ${TILE_N}u;
    if (m < M && n <= N) { partials[(c * M + m) * (N + 1u) + n] = sums[local * ${STEP}u]; }
  }
}
`,
});

/** Sums {@link channelProductKernel}'s chunks in chunk order into dW and db; one thread per value. */
export const channelProductReduceKernel = defineKernel({
  name: 'channelProductReduce',
  workgroupSize: WORKGROUP,
  params: {
    rows: { type: 'u32', doc: 'M' },
    cols: { type: 'u32', doc: 'N' },
    chunks: { type: 'u32', doc: 'chunks of partial sums' },
  },
  bindings: () => [
    { name: 'partials', access: 'read', doc: '[chunks, M, N + 1]' },
    { name: 'gradWeight', access: 'read_write', doc: 'dW [M, N]' },
    { name: 'gradBias', access: 'read_write', doc: 'db [M]' },
  ],
  body: (v: AccumulateVariant) => /* wgsl */ `
fn main(group: u32, local: u32) {
  let cols = params.cols + 1u;
  let values = params.rows * cols;
  let idx = group * ${WORKGROUP}u + local;
  if (idx >= values) { return; }
  var acc = 0.0;
  for (var c = 0u; c < params.chunks; c++) { acc += partials[c * values + idx]; }
  let m = idx / cols;
  let n = idx - m * cols;
  if (n == params.cols) { gradBias[m] = ${v.accumulate ? 'gradBias[m] + ' : ''}acc; }
  else { gradWeight[m * params.cols + n] = ${v.accumulate ? 'gradWeight[m * params.cols + n] + ' : ''}acc; }
}
`,
});

/**
 * How {@link channelProductKernel} splits `voxels` into chunks for an M × N product: enough chunks to occupy the
 * device on small channel counts, few enough that the partial sums stay within 16 MiB. A function of the shape
 * only, so the summation order (and the result) never varies between runs.
 */
export function channelProductChunks(rows: number, cols: number, voxels: number): { chunk: number; chunks: number } {
  const perChunk = rows * (cols + 1);
  const limit = Math.max(1, Math.min(MAX_CHUNKS, Math.floor(MAX_PARTIAL_FLOATS / perChunk)));
  const wanted = Math.min(limit, Math.max(1, Math.floor(voxels / MIN_CHUNK)));
  const chunk = Math.ceil(voxels / wanted / STEP) * STEP;
  return { chunk, chunks: Math.ceil(voxels / chunk) };
}

/** Shape of a pointwise convolution (as the forward call's). */
export interface PointwiseGradShape {
  inChannels: number;
  outChannels: number;
  /** Forward input spatial size [D, H, W]. */
  inSize: readonly [number, number, number];
  /** Forward stride (default 1). */
  stride?: number;
  /** Add the gradients to the output tensors' contents instead of overwriting them (default false). */
  accumulate?: boolean;
}

/** Arguments of {@link pointwiseConv3dInputGrad}. */
export interface PointwiseInputGradArgs extends PointwiseGradShape {
  /** dy [CO, ...outSize]. */
  gradOutput: GpuTensor;
  /** W [CO, CI]. */
  weight: GpuTensor;
  /** dx [CI, ...inSize]. */
  gradInput: GpuTensor;
}

/** Arguments of {@link pointwiseConv3dWeightGrad}. */
export interface PointwiseWeightGradArgs extends PointwiseGradShape {
  /** Forward input x [CI, ...inSize]. */
  input: GpuTensor;
  /** dy [CO, ...outSize]. */
  gradOutput: GpuTensor;
  /** dW [CO, CI]. */
  gradWeight: GpuTensor;
  /** db [CO]. */
  gradBias: GpuTensor;
  /**
   * The forward input is `norm(input)`: statistics [CI, 2] (groupNormStats) and the affine (gamma [CI] then beta
   * [CI] at the start of one tensor; values after them are ignored, so packBottleneckVectors' tensor serves),
   * applied on the fly.
   */
  normalized?: { stats: GpuTensor; affine: GpuTensor };
  /** The forward input is `input · scale + shift` per channel ([CI, 2], e.g. GRN's affine). Excludes `normalized`. */
  scaleShift?: GpuTensor;
}

function shapeParams(name: string, a: PointwiseGradShape) {
  const s = a.stride ?? 1;
  if (!Number.isInteger(s) || s < 1) throw new Error(`${name}: stride must be a positive integer, got ${s}`);
  const out = a.inSize.map((n) => Math.ceil(n / s)) as [number, number, number];
  return {
    inVox: a.inSize[0] * a.inSize[1] * a.inSize[2],
    outVox: out[0] * out[1] * out[2],
    dims: { ...gridParams(a.inSize, out), stride: s },
  };
}

function expectLength(name: string, t: GpuTensor, n: number, what: string): void {
  if (t.length !== n) throw new Error(`${name}: ${what} has ${t.length} elements, expected ${n}`);
}

/** Records dx of a pointwise convolution. */
export function pointwiseConv3dInputGrad(rt: GpuRuntime, a: PointwiseInputGradArgs): void {
  const name = 'pointwiseConv3dInputGrad';
  const p = shapeParams(name, a);
  expectLength(name, a.gradOutput, a.outChannels * p.outVox, 'gradOutput');
  expectLength(name, a.weight, a.outChannels * a.inChannels, 'weight');
  expectLength(name, a.gradInput, a.inChannels * p.inVox, 'gradInput');
  rt.run(
    pointwiseConv3dInputGradKernel,
    { accumulate: !!a.accumulate },
    { inChannels: a.inChannels, outChannels: a.outChannels, ...p.dims },
    { gradOutput: a.gradOutput, weight: a.weight, gradInput: a.gradInput },
    Math.ceil((a.inChannels * p.inVox) / WORKGROUP),
  );
}

/**
 * Records dW and db of a pointwise convolution.
 *
 * @example
 * ```ts
 * pointwiseConv3dWeightGrad(rt, { input: x, gradOutput: dy, gradWeight: dW, gradBias: db,
 *   inChannels: 32, outChannels: 64, inSize: [D, H, W], stride: 2 });
 * ```
 */
export function pointwiseConv3dWeightGrad(rt: GpuRuntime, a: PointwiseWeightGradArgs): void {
  const name = 'pointwiseConv3dWeightGrad';
  const p = shapeParams(name, a);
  expectLength(name, a.input, a.inChannels * p.inVox, 'input');
  expectLength(name, a.gradOutput, a.outChannels * p.outVox, 'gradOutput');
  expectLength(name, a.gradWeight, a.outChannels * a.inChannels, 'gradWeight');
  expectLength(name, a.gradBias, a.outChannels, 'gradBias');
  if (a.normalized) {
    expectLength(name, a.normalized.stats, 2 * a.inChannels, 'normalized.stats');
    if (a.normalized.affine.length < 2 * a.inChannels) {
      throw new Error(
        `${name}: normalized.affine has ${a.normalized.affine.length} elements, needs ${2 * a.inChannels}`,
      );
    }
  }
  if (a.normalized && a.scaleShift) throw new Error(`${name}: normalized and scaleShift exclude each other`);
  if (a.scaleShift) expectLength(name, a.scaleShift, 2 * a.inChannels, 'scaleShift');
  const M = a.outChannels;
  const N = a.inChannels;
  const { chunk, chunks } = channelProductChunks(M, N, p.outVox);
  const partials = rt.tensor(chunks * M * (N + 1), `${name} partial sums`);
  const tiles = Math.ceil(M / TILE_M) * Math.ceil((N + 1) / TILE_N);
  rt.run(
    channelProductKernel,
    { transformB: a.normalized ? 'norm' : a.scaleShift ? 'scaleShift' : 'none' },
    { rows: M, cols: N, ...p.dims, chunk },
    {
      gradOutput: a.gradOutput,
      input: a.input,
      partials,
      ...(a.normalized ? { stats: a.normalized.stats, affine: a.normalized.affine } : {}),
      ...(a.scaleShift ? { scaleShift: a.scaleShift } : {}),
    },
    tiles * chunks,
  );
  rt.run(
    channelProductReduceKernel,
    { accumulate: !!a.accumulate },
    { rows: M, cols: N, chunks },
    { partials, gradWeight: a.gradWeight, gradBias: a.gradBias },
    Math.ceil((M * (N + 1)) / WORKGROUP),
  );
  rt.release(partials);
}
