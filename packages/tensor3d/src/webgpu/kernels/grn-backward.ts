/**
 * Backward of global response normalisation (the GRN of grnScale) over an [E, voxels] tensor h, one sample:
 *
 *     G[e] = ‖h[e, ·]‖₂,  m = mean over e of G,  N[e] = G[e] / (m + eps),  out = h · (1 + gamma N) + beta
 *
 * With S[e] = Σ dOut · h and T[e] = gamma[e] S[e] (the gradient reaching N[e]):
 *
 *     dBeta = Σ dOut,  dGamma = N S,
 *     dh = dOut · (1 + gamma N) + h · (T[e] / (m + eps) - Σ_f T[f] G[f] / (E (m + eps)²)) / G[e]
 *
 * (a channel with G = 0 is all zeros and gets dh = dOut · (1 + gamma N), as PyTorch's norm gradient at 0).
 * Three passes: per-channel sums (one workgroup per channel), the per-channel coefficients (one workgroup), and
 * the element-wise dh. All sums run in a fixed order (deterministic).
 */
import { defineKernel, wgslWorkgroupSum } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 64;
const REDUCE_WORKGROUP = 128;

/** Pass 1: [E, 3] = Σ h², Σ dOut · h, Σ dOut per channel. */
export const grnBackwardSumsKernel = defineKernel({
  name: 'grnBackwardSums',
  workgroupSize: REDUCE_WORKGROUP,
  params: { voxels: { type: 'u32', doc: 'voxels per channel' } },
  bindings: () => [
    { name: 'input', access: 'read', doc: 'h [E, voxels] (the GRN input)' },
    { name: 'gradOutput', access: 'read', doc: 'dOut [E, voxels]' },
    { name: 'sums', access: 'read_write', doc: '[E, 3]: Σ h², Σ dOut·h, Σ dOut' },
  ],
  body: () => /* wgsl */ `
var<workgroup> partial: array<vec3f, ${REDUCE_WORKGROUP}>;
fn main(group: u32, local: u32) {
  let base = group * params.voxels;
  var acc = vec3f(0.0);
  for (var i = local; i < params.voxels; i += ${REDUCE_WORKGROUP}u) {
    let h = input[base + i];
    let g = gradOutput[base + i];
    acc += vec3f(h * h, g * h, g);
  }
  ${wgslWorkgroupSum('partial', 'acc', REDUCE_WORKGROUP)}
  if (local == 0u) {
    sums[3u * group] = partial[0].x;
    sums[3u * group + 1u] = partial[0].y;
    sums[3u * group + 2u] = partial[0].z;
  }
}
`,
});

/** Pass 2 (one workgroup): per-channel coefficients of dh and the gradients of gamma and beta. */
export const grnBackwardCoefficientsKernel = defineKernel({
  name: 'grnBackwardCoefficients',
  workgroupSize: REDUCE_WORKGROUP,
  params: {
    channels: { type: 'u32', doc: 'channels E' },
    eps: { type: 'f32', doc: 'added to the channel mean of the norms (GRN: 1e-6)' },
  },
  bindings: () => [
    { name: 'sums', access: 'read', doc: '[E, 3] from pass 1' },
    { name: 'gamma', access: 'read', doc: 'GRN gamma [E]' },
    { name: 'coefficients', access: 'read_write', doc: '[E, 2]: dh = dOut · c0 + h · c1' },
    { name: 'gradAffine', access: 'read_write', doc: '[E, 2]: dGamma, dBeta' },
  ],
  body: () => /* wgsl */ `
var<workgroup> partial: array<vec2f, ${REDUCE_WORKGROUP}>;
fn main(group: u32, local: u32) {
  let E = params.channels;
  // Σ G and Σ T G over the channels.
  var acc = vec2f(0.0);
  for (var e = local; e < E; e += ${REDUCE_WORKGROUP}u) {
    let g = sqrt(sums[3u * e]);
    acc += vec2f(g, gamma[e] * sums[3u * e + 1u] * g);
  }
  ${wgslWorkgroupSum('partial', 'acc', REDUCE_WORKGROUP)}
  let denom = partial[0].x / f32(E) + params.eps;
  let sharedTerm = partial[0].y / (f32(E) * denom * denom);
  for (var e = local; e < E; e += ${REDUCE_WORKGROUP}u) {
    let g = sqrt(sums[3u * e]);
    let S = sums[3u * e + 1u];
    let n = g / denom;
    coefficients[2u * e] = 1.0 + gamma[e] * n;
    coefficients[2u * e + 1u] = select(0.0, (gamma[e] * S / denom - sharedTerm) / g, g > 0.0);
    gradAffine[2u * e] = n * S;
    gradAffine[2u * e + 1u] = sums[3u * e + 2u];
  }
}
`,
});

/** Pass 3: dh = dOut · c0[e] + h · c1[e]. */
export const grnBackwardApplyKernel = defineKernel({
  name: 'grnBackwardApply',
  workgroupSize: WORKGROUP,
  params: {
    channels: { type: 'u32', doc: 'channels E' },
    voxels: { type: 'u32', doc: 'voxels per channel' },
  },
  bindings: () => [
    { name: 'input', access: 'read', doc: 'h [E, voxels]' },
    { name: 'gradOutput', access: 'read', doc: 'dOut [E, voxels]' },
    { name: 'coefficients', access: 'read', doc: '[E, 2] from pass 2' },
    { name: 'gradInput', access: 'read_write', doc: 'dh [E, voxels]' },
  ],
  body: () => /* wgsl */ `
fn main(group: u32, local: u32) {
  let idx = group * ${WORKGROUP}u + local;
  if (idx >= params.channels * params.voxels) { return; }
  let e = idx / params.voxels;
  gradInput[idx] = gradOutput[idx] * coefficients[2u * e] + input[idx] * coefficients[2u * e + 1u];
}
`,
});

/** Arguments of {@link grnBackward}. */
export interface GrnBackwardArgs {
  /** h [E, voxels], the GRN input. */
  input: GpuTensor;
  /** dOut [E, voxels]. */
  gradOutput: GpuTensor;
  /** GRN gamma [E]. */
  gamma: GpuTensor;
  /** Written: dh [E, voxels] (may not alias input or gradOutput). */
  gradInput: GpuTensor;
  /** Written: [E, 2] dGamma, dBeta. */
  gradAffine: GpuTensor;
  channels: number;
  voxels: number;
  /** Default 1e-6 (MedNeXt's GRN). */
  eps?: number;
}

/**
 * Records the GRN backward (three passes; transient [E, 3] + [E, 2] floats).
 *
 * @example
 * ```ts
 * grnBackward(rt, { input: h, gradOutput: dOut, gamma, gradInput: dh, gradAffine, channels: E, voxels: V });
 * ```
 */
export function grnBackward(rt: GpuRuntime, a: GrnBackwardArgs): void {
  const name = 'grnBackward';
  const { channels: E, voxels: V } = a;
  const check = (t: GpuTensor, n: number, what: string): void => {
    if (t.length !== n) throw new Error(`${name}: ${what} has ${t.length} elements, expected ${n}`);
  };
  check(a.input, E * V, 'input');
  check(a.gradOutput, E * V, 'gradOutput');
  check(a.gradInput, E * V, 'gradInput');
  check(a.gamma, E, 'gamma');
  check(a.gradAffine, 2 * E, 'gradAffine');
  if (a.gradInput.buffer === a.input.buffer || a.gradInput.buffer === a.gradOutput.buffer) {
    throw new Error(`${name}: gradInput must not alias input or gradOutput`);
  }
  const sums = rt.tensor(3 * E, `${name} sums`);
  const coefficients = rt.tensor(2 * E, `${name} coefficients`);
  rt.run(grnBackwardSumsKernel, {}, { voxels: V }, { input: a.input, gradOutput: a.gradOutput, sums }, E);
  rt.run(
    grnBackwardCoefficientsKernel,
    {},
    { channels: E, eps: a.eps ?? 1e-6 },
    { sums, gamma: a.gamma, coefficients, gradAffine: a.gradAffine },
    1,
  );
  rt.run(
    grnBackwardApplyKernel,
    {},
    { channels: E, voxels: V },
    { input: a.input, gradOutput: a.gradOutput, coefficients, gradInput: a.gradInput },
    Math.ceil((E * V) / WORKGROUP),
  );
  rt.release(sums);
  rt.release(coefficients);
}
