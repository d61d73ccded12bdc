/**
 * Conversions between the NIfTI on-disk order (x fastest: `i + nx*(j + ny*k)`) and the C order of the
 * project's volumes (z fastest: `(i*ny + j)*nz + k`). Channels (dims 4 and up) stay slowest in both, so a
 * 4-D image becomes `[c, nx, ny, nz]` with one contiguous C-order volume per channel.
 */

/** Any indexable numeric array. */
export interface NumericArray {
  readonly length: number;
  [index: number]: number;
}

/**
 * Tile edge for the transposes. Both orders share the y axis; x and z swap between fastest and slowest, so
 * one side of a naive loop is always strided by ny*nz or nx*ny elements. Working in 32x32 (x, z) tiles keeps
 * both sides in cache: about 2x faster than either naive loop on a 240x240x155 volume.
 */
const TILE = 32;

/**
 * Copies `src` (x fastest) into `dst` (C order), applying `value * slope + inter` (in float64) when a
 * scaling is given. Both hold `nx*ny*nz*channels` values.
 */
export function diskToC(
  src: ArrayLike<number>,
  dst: NumericArray,
  nx: number,
  ny: number,
  nz: number,
  channels = 1,
  slope = 1,
  inter = 0,
): void {
  const n = nx * ny * nz;
  const scale = slope !== 1 || inter !== 0;
  const strideCX = ny * nz; // C order: step of x
  const strideDZ = nx * ny; // disk order: step of z
  for (let c = 0; c < channels; c++) {
    const base = c * n;
    for (let j = 0; j < ny; j++) {
      for (let k0 = 0; k0 < nz; k0 += TILE) {
        const k1 = Math.min(nz, k0 + TILE);
        for (let i0 = 0; i0 < nx; i0 += TILE) {
          const i1 = Math.min(nx, i0 + TILE);
          for (let i = i0; i < i1; i++) {
            let d = base + i * strideCX + j * nz + k0;
            let s = base + i + nx * j + strideDZ * k0;
            if (scale) {
              for (let k = k0; k < k1; k++, d++, s += strideDZ) dst[d] = src[s]! * slope + inter;
            } else {
              for (let k = k0; k < k1; k++, d++, s += strideDZ) dst[d] = src[s]!;
            }
          }
        }
      }
    }
  }
}

/** Inverse of {@link diskToC} (without scaling): copies C-order `src` into on-disk order `dst`. */
export function cToDisk(
  src: ArrayLike<number>,
  dst: NumericArray,
  nx: number,
  ny: number,
  nz: number,
  channels = 1,
): void {
  const n = nx * ny * nz;
  const strideCX = ny * nz;
  const strideDZ = nx * ny;
  for (let c = 0; c < channels; c++) {
    const base = c * n;
    for (let j = 0; j < ny; j++) {
      for (let k0 = 0; k0 < nz; k0 += TILE) {
        const k1 = Math.min(nz, k0 + TILE);
        for (let i0 = 0; i0 < nx; i0 += TILE) {
          const i1 = Math.min(nx, i0 + TILE);
          for (let i = i0; i < i1; i++) {
            let s = base + i * strideCX + j * nz + k0;
            let d = base + i + nx * j + strideDZ * k0;
            for (let k = k0; k < k1; k++, s++, d += strideDZ) dst[d] = src[s]!;
          }
        }
      }
    }
  }
}
