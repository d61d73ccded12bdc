/**
 * Per-channel statistics for GroupNorm with one group per channel (instance norm): mean and 1/sqrt(var + eps)
 * over the spatial voxels of each channel, biased variance, computed in two passes (mean, then centred sum of
 * squares) so large means do not cancel. One workgroup per channel.
 */
import { defineKernel } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 128;

/** The kernel declaration (no constants). */
export const groupNormStatsKernel = defineKernel({
  name: 'groupNormStats',
  workgroupSize: WORKGROUP,
  params: {
    voxels: { type: 'u32', doc: 'spatial voxels per channel' },
    eps: { type: 'f32', doc: 'added to the variance before the square root (GroupNorm: 1e-5)' },
  },
  bindings: () => [
    { name: 'input', access: 'read', doc: 'input [C, voxels]' },
    { name: 'stats', access: 'read_write', doc: 'output [C, 2]: mean, 1/sqrt(var + eps)' },
  ],
  body: () => /* wgsl */ `
var<workgroup> partial: array<f32, ${WORKGROUP}>;
var<workgroup> total: f32;
fn main(group: u32, local: u32) {
  let base = group * params.voxels;
  var sum = 0.0;
  for (var i = local; i < params.voxels; i += ${WORKGROUP}u) { sum += input[base + i]; }
  partial[local] = sum;
  workgroupBarrier();
  for (var s = ${WORKGROUP / 2}u; s > 0u; s = s >> 1u) {
    if (local < s) { partial[local] += partial[local + s]; }
    workgroupBarrier();
  }
  if (local == 0u) { total = partial[0] / f32(params.voxels); }
  workgroupBarrier();
  let mean = total;
  var sq = 0.0;
  for (var i = local; i < params.voxels; i += ${WORKGROUP}u) {
    let d = input[base + i] - mean;
    sq += d * d;
  }
  partial[local] = sq;
  workgroupBarrier();
  for (var s = ${WORKGROUP / 2}u; s > 0u; s = s >> 1u) {
    if (local < s) { partial[local] += partial[local + s]; }
    workgroupBarrier();
  }
  if (local == 0u) {
    stats[2u * group] = mean;
    stats[2u * group + 1u] = inverseSqrt(partial[0] / f32(params.voxels) + params.eps);
  }
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
}

/** Records the per-channel statistics. */
export function groupNormStats(rt: GpuRuntime, a: GroupNormStatsArgs): void {
  if (a.input.length !== a.channels * a.voxels) {
    throw new Error(`groupNormStats: input has ${a.input.length} elements, expected ${a.channels}x${a.voxels}`);
  }
  if (a.stats.length !== 2 * a.channels) throw new Error(`groupNormStats: stats must hold ${2 * a.channels} values`);
  rt.run(
    groupNormStatsKernel,
    {},
    { voxels: a.voxels, eps: a.eps ?? 1e-5 },
    { input: a.input, stats: a.stats },
    a.channels,
  );
}
