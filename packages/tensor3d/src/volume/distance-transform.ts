/**
 * Exact Euclidean distance transform with anisotropic voxel spacing.
 *
 * Felzenszwalb & Huttenlocher's separable algorithm ("Distance Transforms of Sampled
 * Functions", 2012): the squared distance is a sum of per-axis squared terms, so three passes of
 * a 1-D lower-envelope-of-parabolas transform (one per axis) give the exact result in O(n).
 * Same values as SciPy's `distance_transform_edt(~features, sampling=spacing)`.
 */
import { Tensor3dError } from '../errors.js';
import { assertShape, voxelCount, type Shape3 } from './volume.js';

/** Per-line scratch buffers of the 1-D transform, sized for the longest axis. */
interface LineScratch {
  f: Float64Array;
  out: Float64Array;
  v: Int32Array;
  z: Float64Array;
}

function makeScratch(len: number): LineScratch {
  return {
    f: new Float64Array(len),
    out: new Float64Array(len),
    v: new Int32Array(len),
    z: new Float64Array(len + 1),
  };
}

/**
 * 1-D squared distance transform of `f[0..n)` with sample spacing `w`:
 * `out[q] = min_p ((q - p) * w)^2 + f[p]`. Infinite samples are skipped; a line without any
 * finite sample stays infinite. Returns false when the whole line is infinite.
 */
function transformLine(s: LineScratch, n: number, w: number): boolean {
  const { f, out, v, z } = s;
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q];
    if (fq === Infinity) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    const xq = q * w;
    const hq = fq + xq * xq;
    let p = v[k];
    let xp = p * w;
    // Where the parabola from q overtakes the one from v[k].
    let sIntersect = (hq - (f[p] + xp * xp)) / (2 * (xq - xp));
    while (sIntersect <= z[k]) {
      k--;
      p = v[k];
      xp = p * w;
      sIntersect = (hq - (f[p] + xp * xp)) / (2 * (xq - xp));
    }
    k++;
    v[k] = q;
    z[k] = sIntersect;
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    out.fill(Infinity, 0, n);
    return false;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    const xq = q * w;
    while (z[j + 1] < xq) j++;
    const d = (q - v[j]) * w;
    out[q] = d * d + f[v[j]];
  }
  return true;
}

function checkSpacing(spacing: readonly number[], what: string): void {
  if (spacing.length !== 3 || spacing.some((s) => !(s > 0) || !Number.isFinite(s))) {
    throw new Tensor3dError(
      'BAD_ARGUMENT',
      `${what}: spacing must be three positive finite numbers, got [${spacing.join(', ')}]`,
    );
  }
}

/** Options of {@link squaredDistanceTransform}. */
export interface DistanceTransformOptions {
  /**
   * Only the voxels where this mask is non-zero need exact values (others may be left at partial
   * values): lines without such voxels are skipped in the last pass. Surface-distance code uses it
   * to evaluate the transform at surface points only.
   */
  only?: ArrayLike<number>;
}

/**
 * Squared Euclidean distance (in mm², axis steps scaled by `spacing`) from every voxel to the
 * nearest non-zero voxel of `features`; 0 on the features, `Infinity` everywhere when there is
 * no feature voxel.
 *
 * @param features - voxel values in C order (`shape = [nx, ny, nz]`, last axis fastest).
 * @param spacing - voxel size along each axis (default 1 mm).
 */
export function squaredDistanceTransform(
  features: ArrayLike<number>,
  shape: Shape3,
  spacing: readonly [number, number, number] = [1, 1, 1],
  options: DistanceTransformOptions = {},
): Float64Array {
  assertShape(features, shape, 'squaredDistanceTransform: features');
  checkSpacing(spacing, 'squaredDistanceTransform');
  const only = options.only;
  if (only) assertShape(only, shape, 'squaredDistanceTransform: only');
  const [nx, ny, nz] = shape;
  const n = voxelCount(shape);
  const d = new Float64Array(n).fill(Infinity);
  const s = makeScratch(Math.max(nx, ny, nz));
  const w2 = spacing[2];

  // Last axis (contiguous lines): 1-D nearest feature by a forward and a backward scan.
  for (let base = 0; base < n; base += nz) {
    let last = -1;
    for (let q = 0; q < nz; q++) {
      if (features[base + q] !== 0) {
        // Fill back to the midpoint between the previous feature and this one.
        const from = last < 0 ? 0 : (last + q + 1) >> 1;
        for (let r = from; r <= q; r++) {
          const dd = (q - r) * w2;
          d[base + r] = dd * dd;
        }
        last = q;
      } else if (last >= 0) {
        const dd = (q - last) * w2;
        d[base + q] = dd * dd;
      }
    }
  }
  // Middle axis.
  const nynz = ny * nz;
  for (let x = 0; x < nx; x++) {
    for (let z = 0; z < nz; z++) {
      const base = x * nynz + z;
      let finite = false;
      for (let q = 0, o = base; q < ny; q++, o += nz) {
        const v = d[o];
        s.f[q] = v;
        if (v !== Infinity) finite = true;
      }
      if (!finite) continue;
      transformLine(s, ny, spacing[1]);
      for (let q = 0, o = base; q < ny; q++, o += nz) d[o] = s.out[q];
    }
  }
  // First axis.
  for (let base = 0; base < nynz; base++) {
    let finite = false;
    let needed = !only;
    for (let q = 0, o = base; q < nx; q++, o += nynz) {
      const v = d[o];
      s.f[q] = v;
      if (v !== Infinity) finite = true;
      if (!needed && only![o] !== 0) needed = true;
    }
    if (!finite || !needed) continue;
    transformLine(s, nx, spacing[0]);
    for (let q = 0, o = base; q < nx; q++, o += nynz) d[o] = s.out[q];
  }
  return d;
}

/**
 * Euclidean distance (mm) from every voxel to the nearest non-zero voxel of `features`; see
 * {@link squaredDistanceTransform}.
 */
export function distanceTransform(
  features: ArrayLike<number>,
  shape: Shape3,
  spacing: readonly [number, number, number] = [1, 1, 1],
): Float64Array {
  const d = squaredDistanceTransform(features, shape, spacing);
  for (let i = 0; i < d.length; i++) d[i] = Math.sqrt(d[i]);
  return d;
}
