/**
 * Per-channel statistics for GroupNorm with one group per channel (instance norm): mean and 1/sqrt(var + eps)
 * over the spatial voxels of each channel, biased variance.
 *
 * Two dispatches, so a large volume keeps the whole GPU busy instead of one workgroup per channel: every
 * workgroup reduces one chunk of one channel to (count, mean, M2) — two passes over the chunk, so large means do
 * not cancel — and a second kernel merges the chunks of each channel with the pairwise update of Chan et al.
 * (n = na + nb, d = mb − ma, mean = ma + d·nb/n, M2 = M2a + M2b + d²·na·nb/n).
 */
import { defineKernel, wgslWorkgroupSum } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 128;
/** Voxels per chunk (per workgroup) by default. */
const CHUNK_VOXELS = 16384;

/** First dispatch: (count, mean, M2) of every chunk. */
export const groupNormChunkStatsKernel = defineKernel({
  name: 'groupNormChunkStats',
  workgroupSize: WORKGROUP,
  params: {
    voxels: { type: 'u32', doc: 'spatial voxels per channel' },
    chunkVoxels: { type: 'u32', doc: 'voxels per chunk (the last chunk of a channel may be shorter)' },
    chunks: { type: 'u32', doc: 'chunks per channel' },
  },
  bindings: () => [
    { name: 'input', access: 'read', doc: 'input [C, voxels]' },
    { name: 'partial', access: 'read_write', doc: 'output [C, chunks, 3]: count, mean, M2' },
  ],
  body: () => /* wgsl */ `
var<workgroup> partialSum: array<f32, ${WORKGROUP}>;
var<workgroup> chunkMean: f32;
fn main(group: u32, local: u32) {
  let c = group / params.chunks;
  let k = group % params.chunks;
  let start = c * params.voxels + k * params.chunkVoxels;
  let count = min(params.chunkVoxels, params.voxels - k * params.chunkVoxels);
  var sum = 0.0;
  for (var i = local; i < count; i += ${WORKGROUP}u) { sum += input[start + i]; }
  ${wgslWorkgroupSum('partialSum', 'sum', WORKGROUP)}
  if (local == 0u) { chunkMean = partialSum[0] / f32(count); }
  workgroupBarrier();
  let mean = chunkMean;
  var sq = 0.0;
  for (var i = local; i < count; i += ${WORKGROUP}u) {
    let d = input[start + i] - mean;
    sq += d * d;
  }
  ${wgslWorkgroupSum('partialSum', 'sq', WORKGROUP)}
  if (local == 0u) {
    partial[3u * group] = f32(count);
    partial[3u * group + 1u] = mean;
    partial[3u * group + 2u] = partialSum[0];
  }
}
`,
});

/** Second dispatch: merges each channel's chunks into mean and 1/sqrt(var + eps). One thread per channel. */
export const groupNormMergeStatsKernel = defineKernel({
  name: 'groupNormMergeStats',
  workgroupSize: 64,
  params: {
    channels: { type: 'u32', doc: 'channels C' },
    chunks: { type: 'u32', doc: 'chunks per channel' },
    eps: { type: 'f32', doc: 'added to the variance before the square root (GroupNorm: 1e-5)' },
  },
  bindings: () => [
    { name: 'partial', access: 'read', doc: '[C, chunks, 3]: count, mean, M2' },
    { name: 'stats', access: 'read_write', doc: 'output [C, 2]: mean, 1/sqrt(var + eps)' },
  ],
  body: () => /* wgsl */ `
fn main(group: u32, local: u32) {
  let c = group * 64u + local;
  if (c >= params.channels) { return; }
  let base = 3u * c * params.chunks;
  var n = partial[base];
  var mean = partial[base + 1u];
  var m2 = partial[base + 2u];
  for (var k = 1u; k < params.chunks; k++) {
    let nb = partial[base + 3u * k];
    let d = partial[base + 3u * k + 1u] - mean;
    let total = n + nb;
    mean += d * nb / total;
    m2 += partial[base + 3u * k + 2u] + d * d * n * nb / total;
    n = total;
  }
  stats[2u * c] = mean;
  stats[2u * c + 1u] = inverseSqrt(m2 / n + params.eps);
}
`,
});

/** Arguments of {@link groupNormStats}. */
export interface GroupNormStatsArgs {
  /** Input [C, voxels]. */
  input: GpuTensor;
  /** Output [C, 2]: mean and 1/sqrt(var + eps) per channel. */
  stats: GpuTensor;
  /** Channels C. */
  channels: number;
  /** Spatial voxels per channel. */
  voxels: number;
  /** Variance epsilon (default 1e-5, PyTorch GroupNorm's). */
  eps?: number;
  /** Voxels reduced by one workgroup (default 16384; smaller values only matter to tests). */
  chunkVoxels?: number;
}

/** Records the per-channel statistics (two dispatches; a temporary [C, chunks, 3] tensor). */
export function groupNormStats(rt: GpuRuntime, a: GroupNormStatsArgs): void {
  if (a.input.length !== a.channels * a.voxels) {
    throw new Error(`groupNormStats: input has ${a.input.length} elements, expected ${a.channels}x${a.voxels}`);
  }
  if (a.stats.length !== 2 * a.channels) throw new Error(`groupNormStats: stats must hold ${2 * a.channels} values`);
  const chunkVoxels = a.chunkVoxels ?? CHUNK_VOXELS;
  if (!Number.isInteger(chunkVoxels) || chunkVoxels < 1)
    throw new Error(`groupNormStats: bad chunkVoxels ${chunkVoxels}`);
  const chunks = Math.ceil(a.voxels / chunkVoxels);
  const partial = rt.tensor(3 * a.channels * chunks, 'groupNormStats.partial');
  rt.run(
    groupNormChunkStatsKernel,
    {},
    { voxels: a.voxels, chunkVoxels, chunks },
    { input: a.input, partial },
    a.channels * chunks,
  );
  rt.run(
    groupNormMergeStatsKernel,
    {},
    { channels: a.channels, chunks, eps: a.eps ?? 1e-5 },
    { partial, stats: a.stats },
    Math.ceil(a.channels / 64),
  );
  // Recorded work runs in order: the buffer may be handed out again right away.
  rt.release(partial);
}
