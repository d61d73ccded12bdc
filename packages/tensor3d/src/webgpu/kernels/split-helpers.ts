/**
 * Small kernels of the channel-split path, where a tensor larger than one storage binding is held as several
 * buffers, each a contiguous group of channels (see the package README, "Tensors larger than a binding"):
 * a strided block copy (regrouping channels, slicing weights), exact GELU in place, per-channel sums of squares
 * (GRN statistics over several channel groups) and a per-channel affine in place (GRN scale).
 */
import { defineKernel, WGSL_GELU, wgslWorkgroupSum } from '../kernel.js';
import { elementwiseGroups, elementwiseMain, ELEMENTWISE_WORKGROUP_SIZE } from '../encode.js';
import { GpuCapacityError, mebibytes, type GpuRuntime, type GpuTensor } from '../runtime.js';

/** dst[dstOffset + r·dstRowLength + c] = src[srcOffset + r·srcRowLength + c] for r < rows, c < cols. */
export const copyBlockKernel = defineKernel({
  name: 'copyBlock',
  workgroupSize: ELEMENTWISE_WORKGROUP_SIZE,
  params: {
    rows: { type: 'u32', doc: 'rows copied' },
    cols: { type: 'u32', doc: 'elements per copied row' },
    srcOffset: { type: 'u32', doc: 'first source element' },
    srcRowLength: { type: 'u32', doc: 'source elements between rows' },
    dstOffset: { type: 'u32', doc: 'first destination element' },
    dstRowLength: { type: 'u32', doc: 'destination elements between rows' },
  },
  bindings: () => [
    { name: 'src', access: 'read', doc: 'source' },
    { name: 'dst', access: 'read_write', doc: 'destination (another tensor)' },
  ],
  body: () => /* wgsl */ `
fn main(group: u32, local: u32) {
  let i = group * ${ELEMENTWISE_WORKGROUP_SIZE}u + local;
  if (i >= params.rows * params.cols) { return; }
  let r = i / params.cols;
  let c = i - r * params.cols;
  dst[params.dstOffset + r * params.dstRowLength + c] = src[params.srcOffset + r * params.srcRowLength + c];
}
`,
});

/** Arguments of {@link copyBlock}: a `rows x cols` block between two row-major layouts. */
export interface CopyBlockArgs {
  src: GpuTensor;
  dst: GpuTensor;
  rows: number;
  cols: number;
  /** First source element (default 0). */
  srcOffset?: number;
  /** Source row length (default `cols`). */
  srcRowLength?: number;
  /** First destination element (default 0). */
  dstOffset?: number;
  /** Destination row length (default `cols`). */
  dstRowLength?: number;
}

/** Records a block copy (a contiguous range when `rows` is 1). */
export function copyBlock(rt: GpuRuntime, a: CopyBlockArgs): void {
  const srcOffset = a.srcOffset ?? 0;
  const dstOffset = a.dstOffset ?? 0;
  const srcRowLength = a.srcRowLength ?? a.cols;
  const dstRowLength = a.dstRowLength ?? a.cols;
  const last = (offset: number, rowLength: number): number => offset + (a.rows - 1) * rowLength + a.cols;
  if (a.rows <= 0 || a.cols <= 0) throw new Error('copyBlock: rows and cols must be positive');
  if (last(srcOffset, srcRowLength) > a.src.length) throw new Error(`copyBlock: block runs past '${a.src.label}'`);
  if (last(dstOffset, dstRowLength) > a.dst.length) throw new Error(`copyBlock: block runs past '${a.dst.label}'`);
  rt.run(
    copyBlockKernel,
    {},
    { rows: a.rows, cols: a.cols, srcOffset, srcRowLength, dstOffset, dstRowLength },
    { src: a.src, dst: a.dst },
    elementwiseGroups(a.rows * a.cols),
  );
}

/** x = GELU(x) in place, the exact erf form of the fused bottleneck (same WGSL helper). */
export const geluKernel = defineKernel({
  name: 'gelu',
  workgroupSize: ELEMENTWISE_WORKGROUP_SIZE,
  params: { length: { type: 'u32', doc: 'elements' } },
  bindings: () => [{ name: 'x', access: 'read_write', doc: 'activated in place' }],
  body: () => /* wgsl */ `${WGSL_GELU}
fn main(group: u32, local: u32) {
  let i = group * ${ELEMENTWISE_WORKGROUP_SIZE}u + local;
  if (i < params.length) { x[i] = gelu(x[i]); }
}
`,
});

/** Records x = GELU(x) in place. */
export function gelu(rt: GpuRuntime, x: GpuTensor): void {
  rt.run(geluKernel, {}, { length: x.length }, { x }, elementwiseGroups(x.length));
}

const SUMS_WORKGROUP = 128;

/** sums[first + c] = sum over voxels of x[c]^2; one workgroup per channel. */
export const channelSquareSumsKernel = defineKernel({
  name: 'channelSquareSums',
  workgroupSize: SUMS_WORKGROUP,
  params: {
    voxels: { type: 'u32', doc: 'spatial voxels per channel' },
    first: { type: 'u32', doc: 'index in `sums` of this group’s first channel' },
  },
  bindings: () => [
    { name: 'input', access: 'read', doc: 'x [C, voxels] (one channel group)' },
    { name: 'sums', access: 'read_write', doc: 'sums of squares of all channels' },
  ],
  body: () => /* wgsl */ `
var<workgroup> partial: array<f32, ${SUMS_WORKGROUP}>;
fn main(group: u32, local: u32) {
  let start = group * params.voxels;
  var sq = 0.0;
  for (var i = local; i < params.voxels; i += ${SUMS_WORKGROUP}u) {
    let v = input[start + i];
    sq += v * v;
  }
  ${wgslWorkgroupSum('partial', 'sq', SUMS_WORKGROUP)}
  if (local == 0u) { sums[params.first + group] = partial[0]; }
}
`,
});

/** Arguments of {@link channelSquareSums} and {@link channelAffine}. */
export interface ChannelGroupArgs {
  /** One channel group [channels, voxels]. */
  input: GpuTensor;
  channels: number;
  voxels: number;
  /** Channel index (in the whole tensor) of the group's first channel. */
  first: number;
}

/** Records the per-channel sums of squares of one channel group into `sums[first ...]`. */
export function channelSquareSums(rt: GpuRuntime, a: ChannelGroupArgs & { sums: GpuTensor }): void {
  if (a.input.length !== a.channels * a.voxels) throw new Error('channelSquareSums: input size mismatch');
  if (a.first + a.channels > a.sums.length) throw new Error('channelSquareSums: sums too short');
  rt.run(
    channelSquareSumsKernel,
    {},
    { voxels: a.voxels, first: a.first },
    { input: a.input, sums: a.sums },
    a.channels,
  );
}

/** x[c] = x[c]·affine[2(first + c)] + affine[2(first + c) + 1] in place (the GRN affine of grnScale). */
export const channelAffineKernel = defineKernel({
  name: 'channelAffine',
  workgroupSize: ELEMENTWISE_WORKGROUP_SIZE,
  params: {
    voxels: { type: 'u32', doc: 'spatial voxels per channel' },
    first: { type: 'u32', doc: 'channel index in `affine` of this group’s first channel' },
  },
  bindings: () => [
    { name: 'x', access: 'read_write', doc: 'one channel group [C, voxels], scaled in place' },
    { name: 'affine', access: 'read', doc: '[all channels, 2]: scale, shift' },
  ],
  body: () =>
    elementwiseMain(
      'x',
      `  let c = params.first + i / params.voxels;
  x[i] = x[i] * affine[2u * c] + affine[2u * c + 1u];`,
    ),
});

/** Records the per-channel affine of one channel group in place. */
export function channelAffine(rt: GpuRuntime, a: ChannelGroupArgs & { affine: GpuTensor }): void {
  if (a.input.length !== a.channels * a.voxels) throw new Error('channelAffine: input size mismatch');
  if (2 * (a.first + a.channels) > a.affine.length) throw new Error('channelAffine: affine too short');
  rt.run(
    channelAffineKernel,
    {},
    { voxels: a.voxels, first: a.first },
    { x: a.input, affine: a.affine },
    elementwiseGroups(a.input.length),
  );
}

/**
 * Channels per group so that one group of a `[C, voxels]` tensor fits `maxBindingBytes`: all `channels` when
 * the whole tensor fits, else as many as fit.
 * @throws GpuCapacityError when not even one channel fits (the volume itself is too large for the device)
 */
export function channelsPerGroup(channels: number, voxels: number, maxBindingBytes: number): number {
  const fit = Math.floor(maxBindingBytes / (4 * voxels));
  if (fit < 1) {
    throw new GpuCapacityError(
      `one channel of ${voxels} voxels needs ${mebibytes(4 * voxels)}, above the storage binding limit of ` +
        `${mebibytes(maxBindingBytes)}; use a smaller patch`,
    );
  }
  return Math.min(channels, fit);
}
