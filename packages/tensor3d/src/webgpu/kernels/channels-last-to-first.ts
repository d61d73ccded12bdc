/**
 * The layout change of a batch that arrives channels-last (as patch samplers and tfjs give it) into the
 * channels-first volumes the kernels run on, optionally resampled by nearest neighbour on the way (the
 * downsampled targets of deep supervision). Done on the GPU so that a trainer uploads the batch as it comes and
 * the host does no per-voxel work between steps.
 */
import { defineKernel, wgslVoxelCoords } from '../kernel.js';
import { elementwiseGroups, ELEMENTWISE_WORKGROUP_SIZE } from '../encode.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

/** Compile-time variant: whether source voxels are looked up in index tables (resampling) or are the same voxel. */
export interface ChannelsLastToFirstVariant {
  resample: boolean;
}

/**
 * output[n, c, z, y, x] = input[n, iz[z], iy[y], ix[x], first + c] for c < outChannels; with `resample` off the
 * tables are the identity (the output has the input's size).
 */
export const channelsLastToFirstKernel = defineKernel({
  name: 'channelsLastToFirst',
  workgroupSize: ELEMENTWISE_WORKGROUP_SIZE,
  params: {
    outD: { type: 'u32', doc: 'output depth' },
    outH: { type: 'u32', doc: 'output height' },
    outW: { type: 'u32', doc: 'output width' },
    inD: { type: 'u32', doc: 'input depth' },
    inH: { type: 'u32', doc: 'input height' },
    inW: { type: 'u32', doc: 'input width' },
    channels: { type: 'u32', doc: 'channels of the input (its innermost axis)' },
    first: { type: 'u32', doc: 'first input channel copied' },
    outChannels: { type: 'u32', doc: 'channels of the output' },
    total: { type: 'u32', doc: 'output elements: batch · outChannels · outD · outH · outW' },
  },
  bindings: (k: ChannelsLastToFirstVariant) => [
    { name: 'input', access: 'read', doc: 'channels-last [N, inD, inH, inW, channels]' },
    ...(k.resample
      ? [{ name: 'indices', access: 'read' as const, doc: 'source indices [outD | outH | outW] (integers as f32)' }]
      : []),
    { name: 'output', access: 'read_write', doc: 'channels-first [N, outChannels, outD, outH, outW]' },
  ],
  body: (k: ChannelsLastToFirstVariant) => /* wgsl */ `
fn main(group: u32, local: u32) {
  let i = group * ${ELEMENTWISE_WORKGROUP_SIZE}u + local;
  if (i >= params.total) { return; }
  let outVox = params.outD * params.outH * params.outW;
  let v = i % outVox;
  let c = (i / outVox) % params.outChannels;
  let n = i / (outVox * params.outChannels);
  ${wgslVoxelCoords('o', 'v', 'out')}
  ${
    k.resample
      ? `let sd = u32(indices[od]);
  let sh = u32(indices[params.outD + oh]);
  let sw = u32(indices[params.outD + params.outH + ow]);`
      : `let sd = od;
  let sh = oh;
  let sw = ow;`
  }
  let src = (((n * params.inD + sd) * params.inH + sh) * params.inW + sw) * params.channels + params.first + c;
  output[i] = input[src];
}
`,
});

/** Arguments of {@link channelsLastToFirst}. */
export interface ChannelsLastToFirstArgs {
  /** Channels-last `[batch, ...inSize, channels]`. */
  input: GpuTensor;
  /** Channels-first `[batch, outChannels, ...outSize]`. */
  output: GpuTensor;
  batch: number;
  inSize: readonly [number, number, number];
  channels: number;
  /** First input channel copied (default 0): a channel group of a value split over several buffers. */
  firstChannel?: number;
  /** Channels copied (default: all from `firstChannel` on). */
  outChannels?: number;
  /**
   * Nearest-neighbour resampling: the source index of every output position along each axis, concatenated
   * `[iz (outD) | iy (outH) | ix (outW)]`, integers stored as f32; omitted, the output has the input's size.
   */
  indices?: { table: GpuTensor; outSize: readonly [number, number, number] };
}

/**
 * Records the channels-last → channels-first copy of a batch (or of a channel range of it), optionally resampled.
 * Exact: every output element is one input element.
 * @example
 * ```ts
 * // x: [2, D, H, W, 4] as the sampler gives it → [2, 4, D, H, W]
 * channelsLastToFirst(rt, { input: xLast, output: xFirst, batch: 2, inSize: [D, H, W], channels: 4 });
 * ```
 */
export function channelsLastToFirst(rt: GpuRuntime, a: ChannelsLastToFirstArgs): void {
  const first = a.firstChannel ?? 0;
  const outChannels = a.outChannels ?? a.channels - first;
  const [inD, inH, inW] = a.inSize;
  const [outD, outH, outW] = a.indices?.outSize ?? a.inSize;
  const where = 'channelsLastToFirst';
  if (!Number.isInteger(first) || !Number.isInteger(outChannels) || first < 0 || outChannels < 1) {
    throw new Error(`${where}: bad channel range first ${first}, count ${outChannels}`);
  }
  if (first + outChannels > a.channels) {
    throw new Error(`${where}: channels ${first}..${first + outChannels - 1} of an input with ${a.channels}`);
  }
  if (a.input.length !== a.batch * inD * inH * inW * a.channels) {
    throw new Error(
      `${where}: input '${a.input.label}' has ${a.input.length} elements, [${a.batch}, ${a.inSize.join(', ')}, ` +
        `${a.channels}] needs ${a.batch * inD * inH * inW * a.channels}`,
    );
  }
  const total = a.batch * outChannels * outD * outH * outW;
  if (a.output.length !== total) {
    throw new Error(
      `${where}: output '${a.output.label}' has ${a.output.length} elements, [${a.batch}, ${outChannels}, ` +
        `${outD}, ${outH}, ${outW}] needs ${total}`,
    );
  }
  if (a.indices && a.indices.table.length !== outD + outH + outW) {
    throw new Error(
      `${where}: the index table has ${a.indices.table.length} entries, outD + outH + outW is ${outD + outH + outW}`,
    );
  }
  const bindings: Record<string, GpuTensor> = { input: a.input, output: a.output };
  if (a.indices) bindings.indices = a.indices.table;
  rt.run(
    channelsLastToFirstKernel,
    { resample: !!a.indices },
    { outD, outH, outW, inD, inH, inW, channels: a.channels, first, outChannels, total },
    bindings,
    elementwiseGroups(total),
  );
}
