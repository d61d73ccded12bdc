/**
 * Backward of {@link frontPaddedAdd} (the skip addition after a transposed stride-2 upsampling). With dt the
 * gradient of the target [C, D, H, W]:
 *
 *     dShifted[c, s] = dt[c, s + 1]                 (every axis; a crop)
 *     dStrided[c, q] = dt[c, 2 q + 1]               (the stride-2 grid the strided source lands on)
 *     dFill[c]       = Σ dt[c, j] over j > 0 on every axis with some j - 1 odd
 *
 * and the target's own gradient is dt itself. The crops are one `cropStrided` kernel (out[c, q] = src[c, offset +
 * step · q], generic); the fill gradient is a per-channel reduction, one workgroup per channel, fixed order.
 */
import { defineKernel, wgslWorkgroupSum, wgslChannelVoxelThread } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 64;
const REDUCE_WORKGROUP = 128;

/** out[c, q] = src[c, offset + step · q] on every axis (channels-first). One thread per output value. */
export const cropStridedKernel = defineKernel({
  name: 'cropStrided',
  workgroupSize: WORKGROUP,
  params: {
    channels: { type: 'u32', doc: 'channels C' },
    srcD: { type: 'u32', doc: 'source depth' },
    srcH: { type: 'u32', doc: 'source height' },
    srcW: { type: 'u32', doc: 'source width' },
    outD: { type: 'u32', doc: 'output depth' },
    outH: { type: 'u32', doc: 'output height' },
    outW: { type: 'u32', doc: 'output width' },
    offset: { type: 'u32', doc: 'first source voxel on every axis' },
    step: { type: 'u32', doc: 'source voxels between outputs on every axis' },
  },
  bindings: () => [
    { name: 'source', access: 'read', doc: 'src [C, srcD, srcH, srcW]' },
    { name: 'output', access: 'read_write', doc: 'out [C, outD, outH, outW]' },
  ],
  body: () => /* wgsl */ `
fn main(group: u32, local: u32) {
  let outVox = params.outD * params.outH * params.outW;
  ${wgslChannelVoxelThread({ workgroup: WORKGROUP, channels: 'params.channels', voxels: 'outVox', channel: 'c', voxel: 'o' })}
  let sw = params.offset + params.step * (o % params.outW);
  let sh = params.offset + params.step * ((o / params.outW) % params.outH);
  let sd = params.offset + params.step * (o / (params.outW * params.outH));
  output[idx] = source[((c * params.srcD + sd) * params.srcH + sh) * params.srcW + sw];
}
`,
});

/** dFill[c]: the sum of dt over the non-front voxels off the stride-2 grid. One workgroup per channel. */
export const frontPaddedFillGradKernel = defineKernel({
  name: 'frontPaddedFillGrad',
  workgroupSize: REDUCE_WORKGROUP,
  params: {
    d: { type: 'u32', doc: 'target depth' },
    h: { type: 'u32', doc: 'target height' },
    w: { type: 'u32', doc: 'target width' },
  },
  bindings: () => [
    { name: 'gradTarget', access: 'read', doc: 'dt [C, d, h, w]' },
    { name: 'gradFill', access: 'read_write', doc: 'dFill [C]' },
  ],
  body: () => /* wgsl */ `
var<workgroup> partial: array<f32, ${REDUCE_WORKGROUP}>;
fn main(group: u32, local: u32) {
  let vox = params.d * params.h * params.w;
  var acc = 0.0;
  for (var o = local; o < vox; o += ${REDUCE_WORKGROUP}u) {
    let jw = o % params.w;
    let jh = (o / params.w) % params.h;
    let jd = o / (params.w * params.h);
    if (jd == 0u || jh == 0u || jw == 0u) { continue; }
    if (((jd - 1u) & 1u) == 0u && ((jh - 1u) & 1u) == 0u && ((jw - 1u) & 1u) == 0u) { continue; }
    acc += gradTarget[group * vox + o];
  }
  ${wgslWorkgroupSum('partial', 'acc', REDUCE_WORKGROUP)}
  if (local == 0u) { gradFill[group] = partial[0]; }
}
`,
});

/** Arguments of {@link frontPaddedAddBackward}. */
export interface FrontPaddedAddBackwardArgs {
  /** dt [C, D, H, W], the gradient of the target after the addition. */
  gradTarget: GpuTensor;
  /** Written: [C, D-1, H-1, W-1]. */
  gradShifted: GpuTensor;
  /** Written when the forward had a strided source: [C, D/2, H/2, W/2]. */
  gradStrided?: GpuTensor;
  /** Written with `gradStrided`: [C]. */
  gradFill?: GpuTensor;
  channels: number;
  /** Target spatial size [D, H, W]. */
  size: readonly [number, number, number];
}

/**
 * Records the gradients of frontPaddedAdd's sources.
 *
 * @example
 * ```ts
 * frontPaddedAddBackward(rt, { gradTarget: dSkip, gradShifted: dUp, gradStrided: dRes, gradFill: dResBias,
 *   channels: C, size: [D, H, W] });
 * ```
 */
export function frontPaddedAddBackward(rt: GpuRuntime, a: FrontPaddedAddBackwardArgs): void {
  const name = 'frontPaddedAddBackward';
  const [d, h, w] = a.size;
  const C = a.channels;
  const check = (t: GpuTensor, n: number, what: string): void => {
    if (t.length !== n) throw new Error(`${name}: ${what} has ${t.length} elements, expected ${n}`);
  };
  check(a.gradTarget, C * d * h * w, 'gradTarget');
  check(a.gradShifted, C * (d - 1) * (h - 1) * (w - 1), 'gradShifted');
  const src = { channels: C, srcD: d, srcH: h, srcW: w };
  rt.run(
    cropStridedKernel,
    {},
    { ...src, outD: d - 1, outH: h - 1, outW: w - 1, offset: 1, step: 1 },
    { source: a.gradTarget, output: a.gradShifted },
    Math.ceil(a.gradShifted.length / WORKGROUP),
  );
  if (!a.gradStrided && !a.gradFill) return;
  if (!a.gradStrided || !a.gradFill) throw new Error(`${name}: gradStrided and gradFill go together`);
  if (d % 2 || h % 2 || w % 2) throw new Error(`${name}: a strided source needs an even target size`);
  check(a.gradStrided, (C * d * h * w) / 8, 'gradStrided');
  check(a.gradFill, C, 'gradFill');
  rt.run(
    cropStridedKernel,
    {},
    { ...src, outD: d / 2, outH: h / 2, outW: w / 2, offset: 1, step: 2 },
    { source: a.gradTarget, output: a.gradStrided },
    Math.ceil(a.gradStrided.length / WORKGROUP),
  );
  rt.run(frontPaddedFillGradKernel, {}, { d, h, w }, { gradTarget: a.gradTarget, gradFill: a.gradFill }, C);
}
