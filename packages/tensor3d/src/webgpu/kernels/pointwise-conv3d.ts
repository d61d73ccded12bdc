/**
 * Pointwise (1x1x1) 3-D convolution, channels-first, one sample: y[co, o] = bias[co] + sum over ci of
 * W[co, ci] x[ci, stride · o], i.e. a channel GEMM that may sample every `stride`-th voxel (the strided 1x1x1
 * residual convolution). Weights [CO, CI] (PyTorch regular-conv layout; transpose transposed-conv weights once
 * at upload). One thread per output value.
 *
 * With `accumulate`, the kernel adds its sum into the output instead of writing bias + sum: a tensor split into
 * channel groups runs one dispatch per (input group, output group), the first with the bias, the rest
 * accumulating (see {@link PointwiseConv3dArgs.accumulate}).
 */
import { defineKernel, gridParams, wgslChannelVoxelThread, GRID_PARAMS } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 64;

/** The kernel declaration; `accumulate`: add into the output (no bias binding) instead of writing bias + sum. */
export const pointwiseConv3dKernel = defineKernel({
  name: 'pointwiseConv3d',
  workgroupSize: WORKGROUP,
  params: {
    inChannels: { type: 'u32', doc: 'input channels CI' },
    outChannels: { type: 'u32', doc: 'output channels CO' },
    ...GRID_PARAMS,
    stride: { type: 'u32', doc: 'input voxel read by output voxel o is stride · o on every axis' },
  },
  bindings: (c: { accumulate?: boolean }) => [
    { name: 'input', access: 'read', doc: 'x [CI, inD, inH, inW]' },
    { name: 'weight', access: 'read', doc: 'W [CO, CI]' },
    ...(c.accumulate ? [] : [{ name: 'bias', access: 'read' as const, doc: 'bias [CO]' }]),
    { name: 'output', access: 'read_write', doc: 'y [CO, outD, outH, outW]' },
  ],
  body: (c: { accumulate?: boolean }) => /* wgsl */ `
fn main(group: u32, local: u32) {
  let outVox = params.outD * params.outH * params.outW;
  ${wgslChannelVoxelThread({ workgroup: WORKGROUP, channels: 'params.outChannels', voxels: 'outVox', channel: 'co', voxel: 'o' })}
  let ow = o % params.outW;
  let oh = (o / params.outW) % params.outH;
  let od = o / (params.outW * params.outH);
  let inVox = params.inD * params.inH * params.inW;
  let src = ((od * params.stride) * params.inH + oh * params.stride) * params.inW + ow * params.stride;
  var acc = ${c.accumulate ? 'output[idx]' : 'bias[co]'};
  let wRow = co * params.inChannels;
  for (var ci = 0u; ci < params.inChannels; ci++) {
    acc += weight[wRow + ci] * input[ci * inVox + src];
  }
  output[idx] = acc;
}
`,
});

/** Arguments of {@link pointwiseConv3d}. */
export interface PointwiseConv3dArgs {
  /** x [CI, D, H, W]. */
  input: GpuTensor;
  /** W [CO, CI]. */
  weight: GpuTensor;
  /** bias [CO]; required unless `accumulate`. */
  bias?: GpuTensor;
  /** y [CO, ceil(D / stride), ceil(H / stride), ceil(W / stride)]. */
  output: GpuTensor;
  inChannels: number;
  outChannels: number;
  /** Input spatial size [D, H, W]. */
  inSize: readonly [number, number, number];
  /** Voxel sampling stride (default 1). */
  stride?: number;
  /**
   * Add W·x into `output` (no bias) instead of writing bias + W·x: the later input channel groups of a grouped
   * pointwise convolution (the first group writes, with the bias).
   */
  accumulate?: boolean;
}

/** Records the pointwise convolution. */
export function pointwiseConv3d(rt: GpuRuntime, a: PointwiseConv3dArgs): void {
  const stride = a.stride ?? 1;
  const out = a.inSize.map((n) => Math.ceil(n / stride)) as [number, number, number];
  const inVox = a.inSize[0] * a.inSize[1] * a.inSize[2];
  const outVox = out[0] * out[1] * out[2];
  if (a.input.length !== a.inChannels * inVox)
    throw new Error(`pointwiseConv3d: input must hold ${a.inChannels}x${inVox}`);
  if (a.weight.length !== a.inChannels * a.outChannels) throw new Error('pointwiseConv3d: weight must be [CO, CI]');
  if (a.output.length !== a.outChannels * outVox)
    throw new Error(`pointwiseConv3d: output must hold ${a.outChannels}x${outVox}`);
  const accumulate = !!a.accumulate;
  if (!accumulate && (!a.bias || a.bias.length !== a.outChannels))
    throw new Error(`pointwiseConv3d: bias [${a.outChannels}] is required (unless accumulating)`);
  const bindings: Record<string, GpuTensor> = { input: a.input, weight: a.weight, output: a.output };
  if (!accumulate) bindings.bias = a.bias as GpuTensor;
  rt.run(
    pointwiseConv3dKernel,
    { accumulate },
    {
      inChannels: a.inChannels,
      outChannels: a.outChannels,
      ...gridParams(a.inSize, out),
      stride,
    },
    bindings,
    Math.ceil((a.outChannels * outVox) / WORKGROUP),
  );
}
