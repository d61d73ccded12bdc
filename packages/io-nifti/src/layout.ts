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
 * Copies `src` (x fastest) into `dst` (C order), optionally mapping each value (e.g. scaling).
 * Both hold `nx*ny*nz*channels` values.
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
  const strideX = ny * nz;
  for (let c = 0; c < channels; c++) {
    const base = c * n;
    let s = base;
    // Read sequentially (the source is usually the larger, freshly decompressed buffer) and scatter.
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        let d = base + j * nz + k;
        if (scale) {
          for (let i = 0; i < nx; i++, s++, d += strideX) dst[d] = src[s]! * slope + inter;
        } else {
          for (let i = 0; i < nx; i++, s++, d += strideX) dst[d] = src[s]!;
        }
      }
    }
  }
}

/** Inverse of {@link diskToC}: copies C-order `src` into on-disk order `dst`. */
export function cToDisk(
  src: ArrayLike<number>,
  dst: NumericArray,
  nx: number,
  ny: number,
  nz: number,
  channels = 1,
): void {
  const n = nx * ny * nz;
  const strideX = ny * nz;
  for (let c = 0; c < channels; c++) {
    const base = c * n;
    let d = base;
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        let s = base + j * nz + k;
        for (let i = 0; i < nx; i++, d++, s += strideX) dst[d] = src[s]!;
      }
    }
  }
}
