/**
 * Applies per-channel normalisation statistics and the affine: y = (x - mean) * rstd * gamma + beta
 * (channels-first, one sample). The fused inverted bottleneck applies the same expression on the fly; this
 * standalone form serves paths that need the normalised tensor itself.
 */
import { defineKernel } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 64;

/** The kernel declaration (no constants). */
export const groupNormApplyKernel = defineKernel({
  name: 'groupNormApply',
  workgroupSize: WORKGROUP,
  params: {
    channels: { type: 'u32', doc: 'channels C' },
    voxels: { type: 'u32', doc: 'spatial voxels per channel' },
  },
  bindings: () => [
    { name: 'input', access: 'read', doc: 'input [C, voxels]' },
    { name: 'stats', access: 'read', doc: '[C, 2]: mean, 1/sqrt(var + eps)' },
    { name: 'gamma', access: 'read', doc: 'scale [C]' },
    { name: 'beta', access: 'read', doc: 'shift [C]' },
    { name: 'output', access: 'read_write', doc: 'output [C, voxels]' },
  ],
  body: () => /* wgsl */ `
fn main(group: u32, local: u32) {
  let idx = group * ${WORKGROUP}u + local;
  if (idx >= params.channels * params.voxels) { return; }
  let c = idx / params.voxels;
  output[idx] = (input[idx] - stats[2u * c]) * stats[2u * c + 1u] * gamma[c] + beta[c];
}
`,
});

/** Arguments of {@link groupNormApply}. */
export interface GroupNormApplyArgs {
  /** Input [C, voxels]. */
  input: GpuTensor;
  /** Statistics from groupNormStats. */
  stats: GpuTensor;
  /** Scale [C]. */
  gamma: GpuTensor;
  /** Shift [C]. */
  beta: GpuTensor;
  /** Output [C, voxels]: a tensor other than `input` (WebGPU forbids binding one buffer for read and write). */
  output: GpuTensor;
  /** Channels C. */
  channels: number;
  /** Spatial voxels per channel. */
  voxels: number;
}

/** Records the normalisation. */
export function groupNormApply(rt: GpuRuntime, a: GroupNormApplyArgs): void {
  const n = a.channels * a.voxels;
  if (a.input.length !== n || a.output.length !== n)
    throw new Error(`groupNormApply: input/output must hold ${n} values`);
  rt.run(
    groupNormApplyKernel,
    {},
    { channels: a.channels, voxels: a.voxels },
    { input: a.input, stats: a.stats, gamma: a.gamma, beta: a.beta, output: a.output },
    Math.ceil(n / WORKGROUP),
  );
}
