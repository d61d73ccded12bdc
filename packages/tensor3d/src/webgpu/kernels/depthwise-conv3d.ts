/**
 * Depthwise 3-D convolution, channels-first (CDHW, one sample): odd kernel k, stride 1 or 2, zero padding k//2,
 * plus bias; or the transposed stride-2 form (PyTorch ConvTranspose3d, groups = C, padding k//2, output
 * 2n-1 per axis) in its gather form. One thread per output voxel.
 */
import { defineKernel, wgslVoxelCoords, gridParams, wgslChannelVoxelThread, GRID_PARAMS } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';
import { type DepthwiseTapVariant, wgslDepthwiseTaps, wgslTapSum } from './depthwise-taps.js';

const WORKGROUP = 64;

/** The kernel declaration. Constants: the kernel size and whether the convolution is transposed. */
export const depthwiseConv3dKernel = defineKernel({
  name: 'depthwiseConv3d',
  workgroupSize: WORKGROUP,
  params: {
    channels: { type: 'u32', doc: 'channels C (each convolved with its own k^3 filter)' },
    ...GRID_PARAMS,
    stride: { type: 'i32', doc: 'stride (1 or 2; the transposed form always upsamples by 2)' },
  },
  bindings: () => [
    { name: 'input', access: 'read', doc: 'input [C, inD, inH, inW]' },
    { name: 'weights', access: 'read', doc: 'filter [C, k, k, k] (PyTorch C x 1 x k x k x k)' },
    { name: 'bias', access: 'read', doc: 'bias [C]' },
    { name: 'output', access: 'read_write', doc: 'output [C, outD, outH, outW]' },
  ],
  body: (v: DepthwiseTapVariant) => /* wgsl */ `${wgslDepthwiseTaps(v)}
fn main(group: u32, local: u32) {
  let outVox = params.outD * params.outH * params.outW;
  ${wgslChannelVoxelThread({ workgroup: WORKGROUP, channels: 'params.channels', voxels: 'outVox', channel: 'c', voxel: 'o' })}
  ${wgslVoxelCoords('o', 'o', 'out', true)}
  let inBase = c * params.inD * params.inH * params.inW;
  let fBase = c * u32(K * K * K);
  var acc = bias[c];
  ${wgslTapSum({ map: 'inputOf', source: 'input', base: 'inBase', grid: 'in', at: 'o' })}
  output[idx] = acc;
}
`,
});

/** Arguments of {@link depthwiseConv3d}. */
export interface DepthwiseConv3dArgs {
  /** Input [C, D, H, W]. */
  input: GpuTensor;
  /** Filter [C, k, k, k]. */
  filter: GpuTensor;
  /** Bias [C]. */
  bias: GpuTensor;
  /** Output [C, ...outSize] (see {@link depthwiseOutputSize}). */
  output: GpuTensor;
  /** Channels C. */
  channels: number;
  /** Input spatial size [D, H, W]. */
  inSize: readonly [number, number, number];
  /** Odd kernel size k (3, 5, 7). */
  kernel: number;
  /** 1 or 2 (forward); 2 for the transposed form. */
  stride: 1 | 2;
  /** The transposed (upsampling) convolution. */
  transposed?: boolean;
}

/** Output spatial size: ceil(n / stride) forward, 2n - 1 transposed. */
export function depthwiseOutputSize(
  inSize: readonly [number, number, number],
  stride: 1 | 2,
  transposed = false,
): [number, number, number] {
  return inSize.map((n) => (transposed ? 2 * n - 1 : Math.ceil(n / stride))) as [number, number, number];
}

/** Records a depthwise 3-D convolution (see the module comment for the semantics). */
export function depthwiseConv3d(rt: GpuRuntime, a: DepthwiseConv3dArgs): void {
  if (a.kernel % 2 !== 1 || a.kernel < 1) throw new Error(`depthwiseConv3d: kernel must be odd, got ${a.kernel}`);
  if (a.transposed && a.stride !== 2) throw new Error('depthwiseConv3d: the transposed form has stride 2');
  const outSize = depthwiseOutputSize(a.inSize, a.stride, a.transposed);
  const outVox = outSize[0] * outSize[1] * outSize[2];
  const expect = (t: GpuTensor, n: number, what: string): void => {
    if (t.length !== n) throw new Error(`depthwiseConv3d: ${what} has ${t.length} elements, expected ${n}`);
  };
  expect(a.input, a.channels * a.inSize[0] * a.inSize[1] * a.inSize[2], 'input');
  expect(a.filter, a.channels * a.kernel ** 3, 'filter');
  expect(a.bias, a.channels, 'bias');
  expect(a.output, a.channels * outVox, 'output');
  rt.run(
    depthwiseConv3dKernel,
    { k: a.kernel, transposed: !!a.transposed },
    {
      channels: a.channels,
      ...gridParams(a.inSize, outSize),
      stride: a.stride,
    },
    { input: a.input, weights: a.filter, bias: a.bias, output: a.output },
    Math.ceil((a.channels * outVox) / WORKGROUP),
  );
}
