/**
 * Backward of the inverted bottleneck (see invertedBottleneck):
 *
 *     n = norm(x) (per-channel statistics, gamma, beta),  a = W2 · n + b2,  h = GELU(a),
 *     [h' = GRN(h) = h · scale + shift],  y = W3 · h' + b3 (+ r)
 *
 * given dy. Nothing of the forward pass is kept but x, its statistics and (with GRN) the forward's GRN affine:
 * the expansion is recomputed.
 *
 * 1. `bottleneckHiddenGrad`, one thread per (expanded channel, voxel): recomputes n (from x), a and h, and
 *    writes h and da = (W3ᵀ · dy) · GELU'(a) — the only [E, voxels] tensors, transient, of this block.
 *    With GRN it writes dh' = W3ᵀ · dy instead, then grnBackward turns dh' into dh (and GRN's dGamma, dBeta),
 *    and `bottleneckGeluGrad` recomputes a once more to form da = dh · GELU'(a) in place;
 * 2. dW3, db3 = dy · h'ᵀ, Σ dy (channelProduct, applying GRN's affine to h on the fly);
 * 3. dW2, db2 = da · nᵀ, Σ da (channelProduct normalising x on the fly);
 * 4. dn = W2ᵀ · da (pointwise input gradient);
 * 5. dx, dGamma, dBeta from dn (groupNormBackward).
 *
 * The residual's gradient is dy itself (the caller adds it where the residual came from).
 */
import { defineKernel, WGSL_GELU, wgslChannelVoxelThread } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';
import { groupNormBackward } from './group-norm-backward.js';
import { grnBackward } from './grn-backward.js';
import { pointwiseConv3dInputGrad, pointwiseConv3dWeightGrad } from './pointwise-conv3d-backward.js';

const WORKGROUP = 64;

const SHAPE = {
  voxels: { type: 'u32', doc: 'spatial voxels V' },
  channels: { type: 'u32', doc: 'input channels C' },
  expanded: { type: 'u32', doc: 'expanded channels E' },
  outChannels: { type: 'u32', doc: 'output channels CO' },
} as const;

/** WGSL: the expansion a[e, v] recomputed from x, and GELU'. */
const RECOMPUTE_WGSL = /* wgsl */ `${WGSL_GELU}
// GELU'(a) = Phi(a) + a phi(a), Phi through the same erfc as the forward GELU.
fn geluGrad(a: f32) -> f32 {
  return 0.5 * erfc_(-a * 0.70710678118654752) + a * 0.3989422804014327 * exp(-0.5 * a * a);
}
fn expansion(e: u32, v: u32) -> f32 {
  let V = params.voxels;
  let C = params.channels;
  var a = vectors[2u * C + e];
  for (var c = 0u; c < C; c++) {
    let n = (input[c * V + v] - stats[2u * c]) * stats[2u * c + 1u] * vectors[c] + vectors[C + c];
    a += w2[e * C + c] * n;
  }
  return a;
}
`;

/** Constants of {@link bottleneckHiddenGradKernel}: with GRN, dh' is written instead of da. */
export interface BottleneckHiddenGradVariant {
  grn: boolean;
}

/** Step 1: h and da (or dh' with GRN) per (expanded channel, voxel), recomputing the normalisation and expansion. */
export const bottleneckHiddenGradKernel = defineKernel({
  name: 'bottleneckHiddenGrad',
  workgroupSize: WORKGROUP,
  params: SHAPE,
  bindings: () => [
    { name: 'input', access: 'read', doc: 'x [C, V]' },
    { name: 'stats', access: 'read', doc: '[C, 2]: mean, 1/sqrt(var + eps)' },
    { name: 'vectors', access: 'read', doc: 'gamma [C], beta [C], b2 [E], b3 [CO] (packBottleneckVectors)' },
    { name: 'w2', access: 'read', doc: 'expansion weight [E, C]' },
    { name: 'w3', access: 'read', doc: 'compression weight [CO, E]' },
    { name: 'gradOutput', access: 'read', doc: 'dy [CO, V]' },
    { name: 'hidden', access: 'read_write', doc: 'h = GELU(a) [E, V]' },
    { name: 'gradHidden', access: 'read_write', doc: "da [E, V]; with GRN dh' = W3ᵀ dy" },
  ],
  body: (v: BottleneckHiddenGradVariant) => /* wgsl */ `${RECOMPUTE_WGSL}
fn main(group: u32, local: u32) {
  let V = params.voxels;
  let E = params.expanded;
  ${wgslChannelVoxelThread({ workgroup: WORKGROUP, channels: 'E', voxels: 'V', channel: 'e', voxel: 'v' })}
  let a = expansion(e, v);
  var dh = 0.0;
  for (var co = 0u; co < params.outChannels; co++) {
    dh += w3[co * E + e] * gradOutput[co * V + v];
  }
  hidden[idx] = gelu(a);
  gradHidden[idx] = ${v.grn ? 'dh' : 'dh * geluGrad(a)'};
}
`,
});

/** With GRN: da = dh · GELU'(a) in place, recomputing a. */
export const bottleneckGeluGradKernel = defineKernel({
  name: 'bottleneckGeluGrad',
  workgroupSize: WORKGROUP,
  params: SHAPE,
  bindings: () => [
    { name: 'input', access: 'read', doc: 'x [C, V]' },
    { name: 'stats', access: 'read', doc: '[C, 2]: mean, 1/sqrt(var + eps)' },
    { name: 'vectors', access: 'read', doc: 'gamma [C], beta [C], b2 [E], b3 [CO]' },
    { name: 'w2', access: 'read', doc: 'expansion weight [E, C]' },
    { name: 'gradHidden', access: 'read_write', doc: 'dh in, da out [E, V]' },
  ],
  body: () => /* wgsl */ `${RECOMPUTE_WGSL}
fn main(group: u32, local: u32) {
  let idx = group * ${WORKGROUP}u + local;
  if (idx >= params.expanded * params.voxels) { return; }
  let e = idx / params.voxels;
  gradHidden[idx] = gradHidden[idx] * geluGrad(expansion(e, idx - e * params.voxels));
}
`,
});

/** Arguments of {@link invertedBottleneckBackward}. */
export interface InvertedBottleneckBackwardArgs {
  /** Forward input x [C, voxels]. */
  input: GpuTensor;
  /** Its statistics [C, 2] (groupNormStats). */
  stats: GpuTensor;
  /** gamma, beta, b2, b3 (packBottleneckVectors). */
  vectors: GpuTensor;
  /** W2 [E, C]. */
  w2: GpuTensor;
  /** W3 [CO, E]. */
  w3: GpuTensor;
  /** dy [CO, voxels]. */
  gradOutput: GpuTensor;
  /** Written: dx [C, voxels]. */
  gradInput: GpuTensor;
  /** Written: [C, 2] dGamma, dBeta. */
  gradNormAffine: GpuTensor;
  /** Written: dW2 [E, C], db2 [E], dW3 [CO, E], db3 [CO]. */
  gradW2: GpuTensor;
  gradB2: GpuTensor;
  gradW3: GpuTensor;
  gradB3: GpuTensor;
  /**
   * The block has GRN: `affine` is the forward's [E, 2] scale and shift (grnScale), `gamma` GRN's gamma [E],
   * and GRN's dGamma, dBeta are written to `gradAffine` [E, 2].
   */
  grn?: { affine: GpuTensor; gamma: GpuTensor; gradAffine: GpuTensor; eps?: number };
  channels: number;
  expanded: number;
  outChannels: number;
  voxels: number;
}

/**
 * Records the bottleneck's backward (steps 1-5 of the module comment). Transient GPU memory: 2·E·voxels + C·voxels
 * floats (3·E·voxels + C·voxels with GRN), released to the runtime's pool when recorded.
 *
 * @example
 * ```ts
 * invertedBottleneckBackward(rt, { input: x, stats, vectors, w2, w3, gradOutput: dy, gradInput: dx,
 *   gradNormAffine, gradW2, gradB2, gradW3, gradB3, channels: 32, expanded: 128, outChannels: 32, voxels });
 * ```
 */
export function invertedBottleneckBackward(rt: GpuRuntime, a: InvertedBottleneckBackwardArgs): void {
  const name = 'invertedBottleneckBackward';
  const { channels: C, expanded: E, outChannels: CO, voxels: V } = a;
  const check = (t: GpuTensor, n: number, what: string): void => {
    if (t.length !== n) throw new Error(`${name}: ${what} has ${t.length} elements, expected ${n}`);
  };
  check(a.input, C * V, 'input');
  check(a.stats, 2 * C, 'stats');
  check(a.vectors, 2 * C + E + CO, 'vectors');
  check(a.w2, E * C, 'w2');
  check(a.w3, CO * E, 'w3');
  check(a.gradOutput, CO * V, 'gradOutput');
  check(a.gradInput, C * V, 'gradInput');
  check(a.gradNormAffine, 2 * C, 'gradNormAffine');
  if (a.grn) {
    check(a.grn.affine, 2 * E, 'grn.affine');
    check(a.grn.gamma, E, 'grn.gamma');
    check(a.grn.gradAffine, 2 * E, 'grn.gradAffine');
  }
  const voxelSize: [number, number, number] = [1, 1, V];
  const hidden = rt.tensor(E * V, `${name} h`);
  let gradHidden = rt.tensor(E * V, `${name} da`);
  const gradNorm = rt.tensor(C * V, `${name} dn`);
  const shapeParams = { voxels: V, channels: C, expanded: E, outChannels: CO };
  rt.run(
    bottleneckHiddenGradKernel,
    { grn: !!a.grn },
    shapeParams,
    {
      input: a.input,
      stats: a.stats,
      vectors: a.vectors,
      w2: a.w2,
      w3: a.w3,
      gradOutput: a.gradOutput,
      hidden,
      gradHidden,
    },
    Math.ceil((E * V) / WORKGROUP),
  );
  pointwiseConv3dWeightGrad(rt, {
    input: hidden,
    gradOutput: a.gradOutput,
    gradWeight: a.gradW3,
    gradBias: a.gradB3,
    inChannels: E,
    outChannels: CO,
    inSize: voxelSize,
    scaleShift: a.grn?.affine,
  });
  if (a.grn) {
    const gradPreGrn = rt.tensor(E * V, `${name} dh`);
    grnBackward(rt, {
      input: hidden,
      gradOutput: gradHidden,
      gamma: a.grn.gamma,
      gradInput: gradPreGrn,
      gradAffine: a.grn.gradAffine,
      channels: E,
      voxels: V,
      eps: a.grn.eps,
    });
    rt.run(
      bottleneckGeluGradKernel,
      {},
      shapeParams,
      { input: a.input, stats: a.stats, vectors: a.vectors, w2: a.w2, gradHidden: gradPreGrn },
      Math.ceil((E * V) / WORKGROUP),
    );
    rt.release(gradHidden);
    gradHidden = gradPreGrn;
  }
  rt.release(hidden);
  pointwiseConv3dWeightGrad(rt, {
    input: a.input,
    normalized: { stats: a.stats, affine: a.vectors },
    gradOutput: gradHidden,
    gradWeight: a.gradW2,
    gradBias: a.gradB2,
    inChannels: C,
    outChannels: E,
    inSize: voxelSize,
  });
  pointwiseConv3dInputGrad(rt, {
    gradOutput: gradHidden,
    weight: a.w2,
    gradInput: gradNorm,
    inChannels: C,
    outChannels: E,
    inSize: voxelSize,
  });
  rt.release(gradHidden);
  // groupNormBackward reads gamma as the first C values of its gamma binding.
  groupNormBackward(rt, {
    input: a.input,
    stats: a.stats,
    gamma: a.vectors,
    gradOutput: gradNorm,
    gradInput: a.gradInput,
    gradAffine: a.gradNormAffine,
    channels: C,
    voxels: V,
  });
  rt.release(gradNorm);
}
