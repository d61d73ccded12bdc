/**
 * Brute-force oracles for the depthwise 3-D conv tests, written independently of src/ops: each output
 * element is computed straight from its definition (PyTorch Conv3d / ConvTranspose3d with groups = C),
 * in float64, with no shared loop structure with the reference kernels.
 */

/** A deterministic pseudo-random generator (mulberry32) giving values in [-1, 1). */
export function randomValues(count: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

export type V3 = [number, number, number];
export type Shape5 = [number, number, number, number, number];
export type Shape4 = [number, number, number, number];

/** Row-major offset of a coordinate in a shape. */
function offset(shape: readonly number[], coord: readonly number[]): number {
  let o = 0;
  for (let i = 0; i < shape.length; i++) o = o * shape[i]! + coord[i]!;
  return o;
}

/** Calls `f` for every coordinate of a shape, last axis fastest. */
function forEachCoord(shape: readonly number[], f: (coord: number[]) => void): void {
  const coord = shape.map(() => 0);
  const total = shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < total; i++) {
    f(coord);
    for (let ax = shape.length - 1; ax >= 0; ax--) {
      if (++coord[ax]! < shape[ax]!) break;
      coord[ax] = 0;
    }
  }
}

/** PyTorch Conv3d(groups=C, bias=False) on NDHWC data with a [kd, kh, kw, C] filter. */
export function oracleConv(
  x: Float32Array,
  xs: Shape5,
  f: Float32Array,
  fs: Shape4,
  stride: V3,
  pad: V3,
): { values: Float64Array; shape: Shape5 } {
  const spatial = [0, 1, 2].map((a) => Math.floor((xs[a + 1]! + 2 * pad[a]! - fs[a]!) / stride[a]!) + 1);
  const shape: Shape5 = [xs[0], spatial[0]!, spatial[1]!, spatial[2]!, xs[4]];
  const values = new Float64Array(shape.reduce((a, b) => a * b, 1));
  forEachCoord(shape, ([n, od, oh, ow, c]) => {
    let sum = 0;
    forEachCoord(fs.slice(0, 3), ([td, th, tw]) => {
      const i = [od! * stride[0] - pad[0] + td!, oh! * stride[1] - pad[1] + th!, ow! * stride[2] - pad[2] + tw!];
      if (i.every((v, a) => v >= 0 && v < xs[a + 1]!)) {
        sum += x[offset(xs, [n!, ...i, c!])]! * f[offset(fs, [td!, th!, tw!, c!])]!;
      }
    });
    values[offset(shape, [n!, od!, oh!, ow!, c!])] = sum;
  });
  return { values, shape };
}

/**
 * PyTorch ConvTranspose3d(groups=C, bias=False) in the gather form of the spec: output o on an axis
 * takes w[t] * x[(o + p - t) / s] for every tap t where that index is a whole number inside the input.
 */
export function oracleConvTranspose(
  x: Float32Array,
  xs: Shape5,
  f: Float32Array,
  fs: Shape4,
  stride: V3,
  pad: V3,
  outputPadding: V3,
): { values: Float64Array; shape: Shape5 } {
  const spatial = [0, 1, 2].map((a) => (xs[a + 1]! - 1) * stride[a]! - 2 * pad[a]! + fs[a]! + outputPadding[a]!);
  const shape: Shape5 = [xs[0], spatial[0]!, spatial[1]!, spatial[2]!, xs[4]];
  const values = new Float64Array(shape.reduce((a, b) => a * b, 1));
  forEachCoord(shape, ([n, od, oh, ow, c]) => {
    const o = [od!, oh!, ow!];
    let sum = 0;
    forEachCoord(fs.slice(0, 3), (t) => {
      const q = o.map((v, a) => v + pad[a]! - t[a]!);
      if (!q.every((v, a) => v >= 0 && v % stride[a]! === 0 && v / stride[a]! < xs[a + 1]!)) return;
      const i = q.map((v, a) => v / stride[a]!);
      sum += x[offset(xs, [n!, ...i, c!])]! * f[offset(fs, [...t, c!])]!;
    });
    values[offset(shape, [n!, od!, oh!, ow!, c!])] = sum;
  });
  return { values, shape };
}

/**
 * Filter gradient of the conv by its definition: dF[t, c] = sum over (n, o) of dy[n, o, c] times the
 * input voxel that tap t of output o reads.
 */
export function oracleConvFilterGrad(
  x: Float32Array,
  xs: Shape5,
  dy: Float32Array,
  dys: Shape5,
  fs: Shape4,
  stride: V3,
  pad: V3,
): Float64Array {
  const values = new Float64Array(fs.reduce((a, b) => a * b, 1));
  forEachCoord(fs, ([td, th, tw, c]) => {
    let sum = 0;
    forEachCoord(dys.slice(0, 4), ([n, od, oh, ow]) => {
      const i = [od! * stride[0] - pad[0] + td!, oh! * stride[1] - pad[1] + th!, ow! * stride[2] - pad[2] + tw!];
      if (i.every((v, a) => v >= 0 && v < xs[a + 1]!)) {
        sum += x[offset(xs, [n!, ...i, c!])]! * dy[offset(dys, [n!, od!, oh!, ow!, c!])]!;
      }
    });
    values[offset(fs, [td!, th!, tw!, c!])] = sum;
  });
  return values;
}

/** Largest absolute difference, and the largest magnitude of the expected values (for relative bounds). */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): { diff: number; scale: number } {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return { diff, scale };
}
