/**
 * WGSL shared by the depthwise convolution kernels (forward and gradients): how input and output indices meet
 * through a filter tap along one axis, and the k³-tap sum built on it. Along one axis, input index i and output
 * index o meet through tap t when
 *   forward:     i = o · stride - P + t
 *   transposed:  o = 2 i - P + t
 * (P = k//2). The kernels using it declare the parameters `stride`, `inD/inH/inW` and `outD/outH/outW`.
 */

/** Constants of the tap geometry: odd kernel size and whether the convolution is transposed. */
export interface DepthwiseTapVariant {
  k: number;
  transposed: boolean;
}

/** WGSL: constants K, P, TRANSPOSED and the per-axis maps `inputOf` (output to input) and `outputOf`. */
export const wgslDepthwiseTaps = ({ k, transposed }: DepthwiseTapVariant): string => /* wgsl */ `
const K: i32 = ${k};
const P: i32 = ${k >> 1};
const TRANSPOSED: bool = ${transposed};
// Input index read by output o through tap t along an axis with n inputs, or -1 (padding / between samples).
fn inputOf(o: i32, t: i32, n: i32) -> i32 {
  if (TRANSPOSED) {
    // scatter o = 2 i - P + t  <=>  i = (o + P - t) / 2 when even
    let a = o + P - t;
    if (a < 0 || (a & 1) != 0 || a / 2 >= n) { return -1; }
    return a / 2;
  }
  let i = o * params.stride - P + t;
  if (i < 0 || i >= n) { return -1; }
  return i;
}
// Output index that reads input i through tap t along an axis with n outputs, or -1.
fn outputOf(i: i32, t: i32, n: i32) -> i32 {
  if (TRANSPOSED) {
    let o = 2 * i - P + t;
    if (o < 0 || o >= n) { return -1; }
    return o;
  }
  let a = i + P - t;
  if (a < 0 || a % params.stride != 0 || a / params.stride >= n) { return -1; }
  return a / params.stride;
}
`;

/** What {@link wgslTapSum} gathers. */
export interface TapSumSpec {
  /** The per-axis map from the thread's voxel to the neighbour read through a tap. */
  map: 'inputOf' | 'outputOf';
  /** The buffer read at the neighbours ([D, H, W] per channel, starting at `base`). */
  source: string;
  /** WGSL expression: the offset of this channel's grid in `source`. */
  base: string;
  /** Which grid `source` is laid out as: the parameters `${grid}D`, `${grid}H`, `${grid}W`. */
  grid: 'in' | 'out';
  /** Prefix of the thread's i32 coordinates `${at}d`, `${at}h`, `${at}w` (see wgslVoxelCoords). */
  at: string;
}

/**
 * WGSL loops adding `source[neighbour] · weights[tap]` to `acc` over the k³ taps of channel `c`'s filter
 * (`fBase` its offset in `weights`), skipping taps whose neighbour falls outside the grid. The forward pass
 * gathers inputs through `inputOf`; the input gradient gathers output gradients through `outputOf`.
 */
export function wgslTapSum({ map, source, base, grid, at }: TapSumSpec): string {
  const [D, H, W] = [`params.${grid}D`, `params.${grid}H`, `params.${grid}W`];
  return /* wgsl */ `for (var td = 0; td < K; td++) {
    let nz = ${map}(${at}d, td, i32(${D}));
    if (nz < 0) { continue; }
    for (var th = 0; th < K; th++) {
      let ny = ${map}(${at}h, th, i32(${H}));
      if (ny < 0) { continue; }
      let row = ${base} + (u32(nz) * ${H} + u32(ny)) * ${W};
      let frow = fBase + u32((td * K + th) * K);
      for (var tw = 0; tw < K; tw++) {
        let nx = ${map}(${at}w, tw, i32(${W}));
        if (nx < 0) { continue; }
        acc += ${source}[row + u32(nx)] * weights[frow + u32(tw)];
      }
    }
  }`;
}
