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
const REDUCE_WORKGROUP = 128;

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
export interface ChannelProductVariant extends AccumulateVariant {
  transformB: 'none' | 'norm' | 'scaleShift';
}

/**
 * dW[m, n] = sum_v A[m, v] · B[n, v·stride] and db[m] = sum_v A[m, v]; one workgroup per value (the first M·N
 * compute dW, the next M compute db), fixed summation order.
 */
export const channelProductKernel = defineKernel({
  name: 'channelProduct',
  workgroupSize: REDUCE_WORKGROUP,
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
    { name: 'gradWeight', access: 'read_write', doc: 'dW [M, N]' },
    { name: 'gradBias', access: 'read_write', doc: 'db [M]' },
  ],
  body: (v: ChannelProductVariant) => /* wgsl */ `
var<workgroup> partial: array<f32, ${REDUCE_WORKGROUP}>;
fn main(group: u32, local: u32) {
  let M = params.rows;
  let N = params.cols;
  let isBias = group >= M * N;
  var m = group / N;
  var n = group - m * N;
  if (isBias) { m = group - M * N; n = 0u; }
  if (m >= M) { return; }
  let outVox = params.outD * params.outH * params.outW;
  let inVox = params.inD * params.inH * params.inW;
  let s = params.stride;
  ${v.transformB === 'norm' ? 'let mean = stats[2u * n]; let scale = stats[2u * n + 1u] * affine[n]; let shift = affine[N + n];' : ''}
  ${v.transformB === 'scaleShift' ? 'let scale = scaleShift[2u * n]; let shift = scaleShift[2u * n + 1u];' : ''}
  var acc = 0.0;
  for (var o = local; o < outVox; o += ${REDUCE_WORKGROUP}u) {
    let a = gradOutput[m * outVox + o];
    if (isBias) { acc += a; continue; }
    let ow = o % params.outW;
    let oh = (o / params.outW) % params.outH;
    let od = o / (params.outW * params.outH);
    var b = input[n * inVox + ((od * s) * params.inH + oh * s) * params.inW + ow * s];
    ${v.transformB === 'norm' ? 'b = (b - mean) * scale + shift;' : ''}
    ${v.transformB === 'scaleShift' ? 'b = b * scale + shift;' : ''}
    acc += a * b;
  }
  partial[local] = acc;
  workgroupBarrier();
  for (var r = ${REDUCE_WORKGROUP / 2}u; r > 0u; r = r >> 1u) {
    if (local < r) { partial[local] += partial[local + r]; }
    workgroupBarrier();
  }
  if (local == 0u) {
    if (isBias) { gradBias[m] = ${v.accumulate ? 'gradBias[m] + ' : ''}partial[0]; }
    else { gradWeight[group] = ${v.accumulate ? 'gradWeight[group] + ' : ''}partial[0]; }
  }
}
`,
});

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
  rt.run(
    channelProductKernel,
    { transformB: a.normalized ? 'norm' : a.scaleShift ? 'scaleShift' : 'none', accumulate: !!a.accumulate },
    { rows: a.outChannels, cols: a.inChannels, ...p.dims },
    {
      gradOutput: a.gradOutput,
      input: a.input,
      gradWeight: a.gradWeight,
      gradBias: a.gradBias,
      ...(a.normalized ? { stats: a.normalized.stats, affine: a.normalized.affine } : {}),
      ...(a.scaleShift ? { scaleShift: a.scaleShift } : {}),
    },
    a.outChannels * (a.inChannels + 1),
  );
}
