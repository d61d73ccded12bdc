/**
 * Backward of per-channel GroupNorm (one group per channel, as groupNormStats + groupNormApply compute it):
 * with x̂ = (x - mean) · rstd and y = x̂ · gamma + beta over the N voxels of a channel,
 *
 *   dBeta = Σ dy,   dGamma = Σ dy · x̂,
 *   dx = gamma · rstd · (dy - (Σ dy + x̂ · Σ dy · x̂) / N).
 *
 * One workgroup per channel: it reduces both sums (fixed order, deterministic), writes dGamma and dBeta, then dx.
 * The statistics are the forward pass's (groupNormStats), not recomputed here.
 */
import { defineKernel, wgslWorkgroupSum } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 128;

/** The kernel declaration (no constants). */
export const groupNormBackwardKernel = defineKernel({
  name: 'groupNormBackward',
  workgroupSize: WORKGROUP,
  params: {
    voxels: { type: 'u32', doc: 'spatial voxels per channel' },
  },
  bindings: () => [
    { name: 'input', access: 'read', doc: 'forward input x [C, voxels]' },
    { name: 'stats', access: 'read', doc: '[C, 2]: mean, 1/sqrt(var + eps) (groupNormStats)' },
    { name: 'gamma', access: 'read', doc: 'scale [C]' },
    { name: 'gradOutput', access: 'read', doc: 'dy [C, voxels]' },
    { name: 'gradInput', access: 'read_write', doc: 'dx [C, voxels]' },
    { name: 'gradAffine', access: 'read_write', doc: '[C, 2]: dGamma, dBeta' },
  ],
  body: () => /* wgsl */ `
var<workgroup> partial: array<vec2f, ${WORKGROUP}>;
var<workgroup> sums: vec2f;
fn main(group: u32, local: u32) {
  let base = group * params.voxels;
  let mean = stats[2u * group];
  let rstd = stats[2u * group + 1u];
  var acc = vec2f(0.0);
  for (var i = local; i < params.voxels; i += ${WORKGROUP}u) {
    let g = gradOutput[base + i];
    acc += vec2f(g, g * ((input[base + i] - mean) * rstd));
  }
  ${wgslWorkgroupSum('partial', 'acc', WORKGROUP)}
  if (local == 0u) {
    sums = partial[0];
    gradAffine[2u * group] = partial[0].y;
    gradAffine[2u * group + 1u] = partial[0].x;
  }
  workgroupBarrier();
  let total = sums;
  let invN = 1.0 / f32(params.voxels);
  let scale = gamma[group] * rstd;
  for (var i = local; i < params.voxels; i += ${WORKGROUP}u) {
    let xhat = (input[base + i] - mean) * rstd;
    gradInput[base + i] = scale * (gradOutput[base + i] - (total.x + xhat * total.y) * invN);
  }
}
`,
});

/** Arguments of {@link groupNormBackward}. */
export interface GroupNormBackwardArgs {
  /** Forward input [C, voxels]. */
  input: GpuTensor;
  /** Forward statistics [C, 2] (groupNormStats). */
  stats: GpuTensor;
  /** Scale [C] (the first C values are read, so packBottleneckVectors' tensor serves). */
  gamma: GpuTensor;
  /** dy [C, voxels]. */
  gradOutput: GpuTensor;
  /** dx [C, voxels] (written; may not alias gradOutput). */
  gradInput: GpuTensor;
  /** [C, 2]: dGamma, dBeta (written). */
  gradAffine: GpuTensor;
  channels: number;
  voxels: number;
}

/**
 * Records the GroupNorm backward.
 *
 * @example
 * ```ts
 * groupNormStats(rt, { input: x, stats, channels: C, voxels: V }); // forward
 * groupNormBackward(rt, { input: x, stats, gamma, gradOutput: dy, gradInput: dx, gradAffine, channels: C, voxels: V });
 * ```
 */
export function groupNormBackward(rt: GpuRuntime, a: GroupNormBackwardArgs): void {
  const name = 'groupNormBackward';
  const n = a.channels * a.voxels;
  const expect = (t: GpuTensor, len: number, what: string): void => {
    if (t.length !== len) throw new Error(`${name}: ${what} has ${t.length} elements, expected ${len}`);
  };
  expect(a.input, n, 'input');
  expect(a.gradOutput, n, 'gradOutput');
  expect(a.gradInput, n, 'gradInput');
  expect(a.stats, 2 * a.channels, 'stats');
  if (a.gamma.length < a.channels)
    throw new Error(`${name}: gamma has ${a.gamma.length} elements, needs ${a.channels}`);
  expect(a.gradAffine, 2 * a.channels, 'gradAffine');
  if (a.gradInput.buffer === a.gradOutput.buffer) throw new Error(`${name}: gradInput must not alias gradOutput`);
  rt.run(
    groupNormBackwardKernel,
    {},
    { voxels: a.voxels },
    {
      input: a.input,
      stats: a.stats,
      gamma: a.gamma,
      gradOutput: a.gradOutput,
      gradInput: a.gradInput,
      gradAffine: a.gradAffine,
    },
    a.channels,
  );
}
