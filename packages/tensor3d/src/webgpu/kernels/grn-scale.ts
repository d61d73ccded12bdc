/**
 * Global response normalisation (ConvNeXt-V2 GRN) turned into a per-channel affine of the expanded tensor:
 *
 *     g[e] = sqrt(sum over voxels of h[e]^2),  s[e] = g[e] / (mean over e' of g[e'] + 1e-6)
 *     GRN(h) = gamma[e] * (h * s[e]) + beta[e] + h  =  h * (1 + gamma[e] s[e]) + beta[e]
 *
 * from the per-tile sums of squares written by the inverted bottleneck's `stats` mode. One workgroup.
 */
import { defineKernel, wgslWorkgroupSum } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 128;

/** The kernel declaration (no constants). */
export const grnScaleKernel = defineKernel({
  name: 'grnScale',
  workgroupSize: WORKGROUP,
  params: {
    channels: { type: 'u32', doc: 'expanded channels E' },
    tiles: { type: 'u32', doc: 'rows of partial sums' },
    eps: { type: 'f32', doc: 'added to the channel mean of the L2 norms (GRN: 1e-6)' },
  },
  bindings: () => [
    { name: 'sums', access: 'read', doc: 'sums of squares [tiles, E]' },
    { name: 'gamma', access: 'read', doc: 'GRN gamma [E]' },
    { name: 'beta', access: 'read', doc: 'GRN beta [E]' },
    { name: 'affine', access: 'read_write', doc: 'output [E, 2]: scale 1 + gamma s, shift beta' },
  ],
  body: () => /* wgsl */ `
var<workgroup> partial: array<f32, ${WORKGROUP}>;
fn norm(e: u32) -> f32 {
  var sq = 0.0;
  for (var t = 0u; t < params.tiles; t++) { sq += sums[t * params.channels + e]; }
  return sqrt(sq);
}
fn main(group: u32, local: u32) {
  var total = 0.0;
  for (var e = local; e < params.channels; e += ${WORKGROUP}u) { total += norm(e); }
  ${wgslWorkgroupSum('partial', 'total', WORKGROUP)}
  let denom = partial[0] / f32(params.channels) + params.eps;
  for (var e = local; e < params.channels; e += ${WORKGROUP}u) {
    affine[2u * e] = 1.0 + gamma[e] * norm(e) / denom;
    affine[2u * e + 1u] = beta[e];
  }
}
`,
});

/** Arguments of {@link grnScale}. */
export interface GrnScaleArgs {
  /** Sums of squares [tiles, E] (invertedBottleneck with `grn: 'stats'`). */
  sums: GpuTensor;
  /** GRN gamma [E]. */
  gamma: GpuTensor;
  /** GRN beta [E]. */
  beta: GpuTensor;
  /** Output [E, 2]. */
  affine: GpuTensor;
  /** Expanded channels E. */
  channels: number;
  /** Eps added to the mean norm (default 1e-6). */
  eps?: number;
}

/** Records the GRN scale computation. */
export function grnScale(rt: GpuRuntime, a: GrnScaleArgs): void {
  if (a.sums.length % a.channels !== 0) throw new Error('grnScale: sums must be [tiles, channels]');
  if (a.affine.length !== 2 * a.channels) throw new Error(`grnScale: affine must hold ${2 * a.channels} values`);
  rt.run(
    grnScaleKernel,
    {},
    { channels: a.channels, tiles: a.sums.length / a.channels, eps: a.eps ?? 1e-6 },
    { sums: a.sums, gamma: a.gamma, beta: a.beta, affine: a.affine },
    1,
  );
}
