/**
 * Adds into a [C, D, H, W] target a source of size [C, D-1, H-1, W-1] shifted by one voxel on every axis (the
 * source padded with one zero voxel at the front of each axis), and optionally a stride-2 grid source:
 *
 *     target[c, j] += j > 0 on all axes ? shifted[c, j - 1] + (j - 1 even on all axes ? strided[c, (j - 1) / 2]
 *                                                                                    : fill[c])
 *                                       : 0
 *
 * This is the skip addition after a transposed stride-2 upsampling (output 2n - 1, front padding to 2n) whose
 * 1x1x1 transposed residual only lands on the even voxels (elsewhere it is its bias, `fill`).
 */
import { defineKernel, wgslChannelVoxelThread } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 64;

/** The kernel declaration. Constant: whether the strided source is present. */
export const frontPaddedAddKernel = defineKernel({
  name: 'frontPaddedAdd',
  workgroupSize: WORKGROUP,
  params: {
    channels: { type: 'u32', doc: 'channels C' },
    d: { type: 'u32', doc: 'target depth' },
    h: { type: 'u32', doc: 'target height' },
    w: { type: 'u32', doc: 'target width' },
  },
  bindings: ({ strided }: { strided: boolean }) => [
    { name: 'accum', access: 'read_write', doc: 'added into [C, d, h, w]' },
    { name: 'shifted', access: 'read', doc: '[C, d-1, h-1, w-1], lands at +1 on every axis' },
    ...(strided
      ? [
          { name: 'strided', access: 'read' as const, doc: '[C, d/2, h/2, w/2], lands on odd target voxels' },
          { name: 'fill', access: 'read' as const, doc: '[C], added at the other non-front voxels' },
        ]
      : []),
  ],
  body: ({ strided }: { strided: boolean }) => /* wgsl */ `
fn main(group: u32, local: u32) {
  let vox = params.d * params.h * params.w;
  ${wgslChannelVoxelThread({ workgroup: WORKGROUP, channels: 'params.channels', voxels: 'vox', channel: 'c', voxel: 'o' })}
  let jw = o % params.w;
  let jh = (o / params.w) % params.h;
  let jd = o / (params.w * params.h);
  if (jd == 0u || jh == 0u || jw == 0u) { return; }
  let sd = params.d - 1u;
  let sh = params.h - 1u;
  let sw = params.w - 1u;
  var v = shifted[((c * sd + jd - 1u) * sh + jh - 1u) * sw + jw - 1u];
  ${
    strided
      ? `if (((jd - 1u) & 1u) == 0u && ((jh - 1u) & 1u) == 0u && ((jw - 1u) & 1u) == 0u) {
    let nd = params.d / 2u;
    let nh = params.h / 2u;
    let nw = params.w / 2u;
    v += strided[((c * nd + (jd - 1u) / 2u) * nh + (jh - 1u) / 2u) * nw + (jw - 1u) / 2u];
  } else {
    v += fill[c];
  }`
      : ''
  }
  accum[idx] += v;
}
`,
});

/** Arguments of {@link frontPaddedAdd}. */
export interface FrontPaddedAddArgs {
  /** [C, D, H, W], added into (D, H, W even when `strided` is given). */
  target: GpuTensor;
  /** [C, D-1, H-1, W-1]. */
  shifted: GpuTensor;
  /** Optional [C, D/2, H/2, W/2] on the stride-2 grid. */
  strided?: GpuTensor;
  /** [C]: the value of the strided term off its grid (required with `strided`). */
  fill?: GpuTensor;
  channels: number;
  /** Target spatial size [D, H, W]. */
  size: readonly [number, number, number];
}

/** Records the addition. */
export function frontPaddedAdd(rt: GpuRuntime, a: FrontPaddedAddArgs): void {
  const [d, h, w] = a.size;
  if (a.target.length !== a.channels * d * h * w) throw new Error('frontPaddedAdd: target size mismatch');
  if (a.shifted.length !== a.channels * (d - 1) * (h - 1) * (w - 1))
    throw new Error('frontPaddedAdd: shifted size mismatch');
  const bindings: Record<string, GpuTensor> = { accum: a.target, shifted: a.shifted };
  if (a.strided) {
    if (d % 2 || h % 2 || w % 2) throw new Error('frontPaddedAdd: a strided source needs an even target size');
    if (a.strided.length !== (a.channels * d * h * w) / 8) throw new Error('frontPaddedAdd: strided size mismatch');
    if (!a.fill || a.fill.length !== a.channels) throw new Error('frontPaddedAdd: fill [C] is required with strided');
    bindings.strided = a.strided;
    bindings.fill = a.fill;
  }
  rt.run(
    frontPaddedAddKernel,
    { strided: !!a.strided },
    { channels: a.channels, d, h, w },
    bindings,
    Math.ceil((a.channels * d * h * w) / WORKGROUP),
  );
}
