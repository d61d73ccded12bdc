/**
 * Reference depthwise 3-D convolution kernels: plain loops over Float32Array data in NDHWC layout.
 *
 * These are the ground truth for every backend and for the fast kernels: written for clarity, with
 * float64 accumulation so that they are at least as accurate as any float32 implementation. They run on
 * any backend whose data can be read synchronously (cpu, wasm, tensorflow).
 *
 * Index conventions (per spatial axis): forward output voxel `o` and tap `t` read input voxel
 * `i = o * stride - pad + t`; reads outside `[0, n)` are zero. Every kernel below is a different sum over
 * the same (o, t, i) triples.
 */
import { Tensor3dError } from '../../errors.js';
import type { Triple } from './kernel-names.js';
import { sizeOf } from './geometry.js';

/** Shape of a 5-D NDHWC tensor. */
export type Shape5 = readonly [number, number, number, number, number];
/** Shape of a depthwise filter `[kd, kh, kw, C]`. */
export type Shape4 = readonly [number, number, number, number];

/** Geometry of one conv: the forward input and output shapes, filter shape, strides and padding. */
interface ConvGeometry {
  inShape: Shape5;
  outShape: Shape5;
  filterShape: Shape4;
  strides: Triple;
  pad: Triple;
}

/**
 * Visits every (output voxel, tap) pair whose input voxel is inside the volume, calling
 * `visit(inOffset, outOffset, filterOffset)` with the offsets of channel 0 (channels are contiguous).
 */
function forEachTap(g: ConvGeometry, visit: (inOff: number, outOff: number, fOff: number) => void): void {
  const [n, d, h, w, c] = g.inShape;
  const [, od, oh, ow] = g.outShape;
  const [kd, kh, kw] = g.filterShape;
  const [sd, sh, sw] = g.strides;
  const [pd, ph, pw] = g.pad;
  for (let b = 0; b < n; b++) {
    for (let z = 0; z < od; z++) {
      for (let y = 0; y < oh; y++) {
        for (let x = 0; x < ow; x++) {
          const outOff = (((b * od + z) * oh + y) * ow + x) * c;
          for (let tz = 0; tz < kd; tz++) {
            const iz = z * sd - pd + tz;
            if (iz < 0 || iz >= d) continue;
            for (let ty = 0; ty < kh; ty++) {
              const iy = y * sh - ph + ty;
              if (iy < 0 || iy >= h) continue;
              for (let tx = 0; tx < kw; tx++) {
                const ix = x * sw - pw + tx;
                if (ix < 0 || ix >= w) continue;
                const inOff = (((b * d + iz) * h + iy) * w + ix) * c;
                const fOff = ((tz * kh + ty) * kw + tx) * c;
                visit(inOff, outOff, fOff);
              }
            }
          }
        }
      }
    }
  }
}

function checkLength(what: string, data: ArrayLike<number>, shape: readonly number[]): void {
  if (data.length !== sizeOf(shape)) {
    throw new Tensor3dError(
      'BAD_SHAPE',
      `depthwise-conv3d reference: ${what} has ${data.length} values but shape [${shape}] needs ${sizeOf(shape)}`,
    );
  }
}

/** Forward: `y[o, c] = sum_t x[o*s - p + t, c] * filter[t, c]`. Returns `outShape` data. */
export function depthwiseConv3dReference(
  x: Float32Array,
  inShape: Shape5,
  filter: Float32Array,
  filterShape: Shape4,
  outShape: Shape5,
  strides: Triple,
  pad: Triple,
): Float32Array {
  checkLength('x', x, inShape);
  checkLength('filter', filter, filterShape);
  const c = inShape[4];
  const acc = new Float64Array(sizeOf(outShape));
  forEachTap({ inShape, outShape, filterShape, strides, pad }, (inOff, outOff, fOff) => {
    for (let ch = 0; ch < c; ch++) acc[outOff + ch]! += x[inOff + ch]! * filter[fOff + ch]!;
  });
  return Float32Array.from(acc);
}

/**
 * Gradient with respect to the input (and the transposed conv): scatters every `dy[o, c] * filter[t, c]`
 * to the input voxel `o*s - p + t`. Returns `inShape` data.
 */
export function depthwiseConv3dBackpropInputReference(
  dy: Float32Array,
  outShape: Shape5,
  filter: Float32Array,
  filterShape: Shape4,
  inShape: Shape5,
  strides: Triple,
  pad: Triple,
): Float32Array {
  checkLength('dy', dy, outShape);
  checkLength('filter', filter, filterShape);
  const c = inShape[4];
  const acc = new Float64Array(sizeOf(inShape));
  forEachTap({ inShape, outShape, filterShape, strides, pad }, (inOff, outOff, fOff) => {
    for (let ch = 0; ch < c; ch++) acc[inOff + ch]! += dy[outOff + ch]! * filter[fOff + ch]!;
  });
  return Float32Array.from(acc);
}

/** Gradient with respect to the filter: `dF[t, c] = sum_{n, o} x[o*s - p + t, c] * dy[o, c]`. Returns `filterShape` data. */
export function depthwiseConv3dBackpropFilterReference(
  x: Float32Array,
  inShape: Shape5,
  dy: Float32Array,
  outShape: Shape5,
  filterShape: Shape4,
  strides: Triple,
  pad: Triple,
): Float32Array {
  checkLength('x', x, inShape);
  checkLength('dy', dy, outShape);
  const c = inShape[4];
  const acc = new Float64Array(sizeOf(filterShape));
  forEachTap({ inShape, outShape, filterShape, strides, pad }, (inOff, outOff, fOff) => {
    for (let ch = 0; ch < c; ch++) acc[fOff + ch]! += x[inOff + ch]! * dy[outOff + ch]!;
  });
  return Float32Array.from(acc);
}
