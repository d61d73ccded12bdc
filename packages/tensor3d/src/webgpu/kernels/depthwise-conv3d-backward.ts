/**
 * Gradients of {@link depthwiseConv3d} (channels-first, one sample), for every form the forward kernel has: odd
 * kernel k, stride 1 or 2 with zero padding k//2, and the transposed stride-2 form (output 2n - 1 per axis).
 *
 * Along one axis, input index i and output index o meet through tap t when
 *   forward:     i = o · stride - P + t
 *   transposed:  o = 2 i - P + t
 * (P = k//2). The input gradient gathers, for each input voxel, the output gradients of every (tap, output) pair
 * that read it (one thread per input voxel, no atomics); the filter gradient reduces dy · x over all output
 * voxels for each (channel, tap), and the bias gradient dy over the output, one workgroup per value, in a fixed
 * order (deterministic).
 */
import {
  defineKernel,
  wgslVoxelCoords,
  wgslWorkgroupSum,
  gridParams,
  wgslChannelVoxelThread,
  GRID_PARAMS,
} from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';
import { depthwiseOutputSize } from './depthwise-conv3d.js';
import { type DepthwiseTapVariant, wgslDepthwiseTaps, wgslTapSum } from './depthwise-taps.js';

const WORKGROUP = 64;
const REDUCE_WORKGROUP = 128;

/**
 * Constants of both gradient kernels: kernel size, the transposed form, and whether results are added to the
 * output tensors (batches, skip connections) instead of overwriting them.
 */
export interface DepthwiseGradVariant extends DepthwiseTapVariant {
  accumulate: boolean;
}

/** The forward convolution's shape: its input grid is `in…`, its output grid `out…`. */
const SHAPE_PARAMS = {
  channels: { type: 'u32', doc: 'channels C' },
  ...GRID_PARAMS,
  stride: { type: 'i32', doc: 'forward stride (1 or 2; 2 for the transposed form)' },
} as const;

/** dx[c, i] = sum over (tap t, output o) meeting at i of dy[c, o] · W[c, t]. One thread per input voxel. */
export const depthwiseConv3dInputGradKernel = defineKernel({
  name: 'depthwiseConv3dInputGrad',
  workgroupSize: WORKGROUP,
  params: SHAPE_PARAMS,
  bindings: () => [
    { name: 'gradOutput', access: 'read', doc: 'dy [C, outD, outH, outW]' },
    { name: 'weights', access: 'read', doc: 'filter [C, k, k, k]' },
    { name: 'gradInput', access: 'read_write', doc: 'dx [C, inD, inH, inW]' },
  ],
  body: (v: DepthwiseGradVariant) => /* wgsl */ `${wgslDepthwiseTaps(v)}
fn main(group: u32, local: u32) {
  let inVox = params.inD * params.inH * params.inW;
  ${wgslChannelVoxelThread({ workgroup: WORKGROUP, channels: 'params.channels', voxels: 'inVox', channel: 'c', voxel: 'i' })}
  ${wgslVoxelCoords('i', 'i', 'in', true)}
  let outBase = c * params.outD * params.outH * params.outW;
  let fBase = c * u32(K * K * K);
  var acc = 0.0;
  ${wgslTapSum({ map: 'outputOf', source: 'gradOutput', base: 'outBase', grid: 'out', at: 'i' })}
  gradInput[idx] = ${v.accumulate ? 'gradInput[idx] + acc' : 'acc'};
}
`,
});

/**
 * dW[c, t] = sum over outputs o of dy[c, o] · x[c, input(o, t)] and dBias[c] = sum of dy[c, ·]. One workgroup per
 * value: workgroup g < C·k³ computes dW[g], workgroup C·k³ + c computes dBias[c].
 */
export const depthwiseConv3dFilterGradKernel = defineKernel({
  name: 'depthwiseConv3dFilterGrad',
  workgroupSize: REDUCE_WORKGROUP,
  params: SHAPE_PARAMS,
  bindings: () => [
    { name: 'input', access: 'read', doc: 'forward input x [C, inD, inH, inW]' },
    { name: 'gradOutput', access: 'read', doc: 'dy [C, outD, outH, outW]' },
    { name: 'gradFilter', access: 'read_write', doc: 'dW [C, k, k, k]' },
    { name: 'gradBias', access: 'read_write', doc: 'dBias [C]' },
  ],
  body: (v: DepthwiseGradVariant) => /* wgsl */ `${wgslDepthwiseTaps(v)}
var<workgroup> partial: array<f32, ${REDUCE_WORKGROUP}>;
fn main(group: u32, local: u32) {
  let taps = u32(K * K * K);
  let isBias = group >= params.channels * taps;
  var c = group / taps;
  var t = group - c * taps;
  if (isBias) { c = group - params.channels * taps; t = 0u; }
  if (c >= params.channels) { return; }
  let td = i32(t / u32(K * K));
  let th = i32((t / u32(K)) % u32(K));
  let tw = i32(t % u32(K));
  let outVox = params.outD * params.outH * params.outW;
  let outBase = c * outVox;
  let inBase = c * params.inD * params.inH * params.inW;
  var acc = 0.0;
  for (var o = local; o < outVox; o += ${REDUCE_WORKGROUP}u) {
    let g = gradOutput[outBase + o];
    if (isBias) { acc += g; continue; }
    let iz = inputOf(i32(o / (params.outW * params.outH)), td, i32(params.inD));
    let iy = inputOf(i32((o / params.outW) % params.outH), th, i32(params.inH));
    let ix = inputOf(i32(o % params.outW), tw, i32(params.inW));
    if (iz < 0 || iy < 0 || ix < 0) { continue; }
    acc += g * input[inBase + (u32(iz) * params.inH + u32(iy)) * params.inW + u32(ix)];
  }
  ${wgslWorkgroupSum('partial', 'acc', REDUCE_WORKGROUP)}
  if (local == 0u) {
    if (isBias) { gradBias[c] = ${v.accumulate ? 'gradBias[c] + ' : ''}partial[0]; }
    else { gradFilter[group] = ${v.accumulate ? 'gradFilter[group] + ' : ''}partial[0]; }
  }
}
`,
});

/** Shape of a depthwise convolution whose gradients are taken (as the forward call's). */
export interface DepthwiseGradShape {
  /** Channels C. */
  channels: number;
  /** Forward input spatial size [D, H, W]. */
  inSize: readonly [number, number, number];
  /** Odd kernel size k. */
  kernel: number;
  /** Forward stride; 2 for the transposed form. */
  stride: 1 | 2;
  /** The transposed (upsampling) convolution. */
  transposed?: boolean;
  /** Add the gradients to the output tensors' contents instead of overwriting them (default false). */
  accumulate?: boolean;
}

/** Arguments of {@link depthwiseConv3dInputGrad}. */
export interface DepthwiseInputGradArgs extends DepthwiseGradShape {
  /** dy [C, ...outSize]. */
  gradOutput: GpuTensor;
  /** Filter [C, k, k, k]. */
  filter: GpuTensor;
  /** dx [C, ...inSize]. */
  gradInput: GpuTensor;
}

/** Arguments of {@link depthwiseConv3dFilterGrad}. */
export interface DepthwiseFilterGradArgs extends DepthwiseGradShape {
  /** Forward input x [C, ...inSize]. */
  input: GpuTensor;
  /** dy [C, ...outSize]. */
  gradOutput: GpuTensor;
  /** dW [C, k, k, k]. */
  gradFilter: GpuTensor;
  /** dBias [C]. */
  gradBias: GpuTensor;
}

function checkedShape(
  name: string,
  a: DepthwiseGradShape,
  tensors: Record<string, [GpuTensor, 'in' | 'out' | 'filter' | 'bias']>,
): { params: Record<keyof typeof SHAPE_PARAMS, number>; variant: DepthwiseGradVariant; inVox: number } {
  if (a.kernel % 2 !== 1 || a.kernel < 1) throw new Error(`${name}: kernel must be odd, got ${a.kernel}`);
  if (a.transposed && a.stride !== 2) throw new Error(`${name}: the transposed form has stride 2`);
  const out = depthwiseOutputSize(a.inSize, a.stride, a.transposed);
  const inVox = a.inSize[0] * a.inSize[1] * a.inSize[2];
  const sizes = {
    in: a.channels * inVox,
    out: a.channels * out[0] * out[1] * out[2],
    filter: a.channels * a.kernel ** 3,
    bias: a.channels,
  };
  for (const [what, [t, kind]] of Object.entries(tensors)) {
    if (t.length !== sizes[kind]) throw new Error(`${name}: ${what} has ${t.length} elements, expected ${sizes[kind]}`);
  }
  return {
    params: {
      channels: a.channels,
      ...gridParams(a.inSize, out),
      stride: a.stride,
    },
    variant: { k: a.kernel, transposed: !!a.transposed, accumulate: !!a.accumulate },
    inVox,
  };
}

/**
 * Records the input gradient of a depthwise 3-D convolution.
 *
 * @example
 * ```ts
 * depthwiseConv3dInputGrad(rt, { gradOutput: dy, filter: w, gradInput: dx, channels: C, inSize: [D, H, W],
 *   kernel: 7, stride: 2 });
 * ```
 */
export function depthwiseConv3dInputGrad(rt: GpuRuntime, a: DepthwiseInputGradArgs): void {
  const s = checkedShape('depthwiseConv3dInputGrad', a, {
    gradOutput: [a.gradOutput, 'out'],
    filter: [a.filter, 'filter'],
    gradInput: [a.gradInput, 'in'],
  });
  rt.run(
    depthwiseConv3dInputGradKernel,
    s.variant,
    s.params,
    { gradOutput: a.gradOutput, weights: a.filter, gradInput: a.gradInput },
    Math.ceil((a.channels * s.inVox) / WORKGROUP),
  );
}

/** Records the filter and bias gradients of a depthwise 3-D convolution. */
export function depthwiseConv3dFilterGrad(rt: GpuRuntime, a: DepthwiseFilterGradArgs): void {
  const s = checkedShape('depthwiseConv3dFilterGrad', a, {
    input: [a.input, 'in'],
    gradOutput: [a.gradOutput, 'out'],
    gradFilter: [a.gradFilter, 'filter'],
    gradBias: [a.gradBias, 'bias'],
  });
  rt.run(
    depthwiseConv3dFilterGradKernel,
    s.variant,
    s.params,
    { input: a.input, gradOutput: a.gradOutput, gradFilter: a.gradFilter, gradBias: a.gradBias },
    a.channels * (a.kernel ** 3 + 1),
  );
}
