/**
 * Mirroring of the three spatial axes of C-order volumes (used by test-time augmentation).
 */
import { Tensor3dError } from '../errors.js';
import { allocateLike } from './volume.js';

/** A spatial axis of a volume: 0 = x (slowest), 1 = y, 2 = z (fastest). */
export type SpatialAxis = 0 | 1 | 2;

/**
 * Mirrors the last three (spatial) axes listed in `axes` of a C-order array whose shape is
 * `[...leading, nx, ny, nz]`; the leading axes (batch, channel) are left alone.
 *
 * @param data - the array, `outer * nx * ny * nz` values where `outer` is the product of the leading axes.
 * @param spatial - `[nx, ny, nz]`.
 * @param axes - spatial axes to mirror; an empty list returns a copy.
 * @returns a new array of the same type (the input is not modified).
 */
export function flipSpatial<T extends Float32Array | Uint8Array>(
  data: T,
  spatial: readonly [number, number, number],
  axes: readonly SpatialAxis[],
): T {
  const [nx, ny, nz] = spatial;
  const block = nx * ny * nz;
  if (block === 0 || data.length % block !== 0) {
    throw new Tensor3dError(
      'BAD_SHAPE',
      `flipSpatial: ${data.length} values do not hold whole [${spatial.join(', ')}] volumes`,
    );
  }
  for (const a of axes)
    if (a !== 0 && a !== 1 && a !== 2)
      throw new Tensor3dError('BAD_ARGUMENT', `flipSpatial: axis ${String(a)} is not 0, 1 or 2`);
  const fx = axes.includes(0);
  const fy = axes.includes(1);
  const fz = axes.includes(2);
  const out = allocateLike(data, data.length);
  const outer = data.length / block;
  for (let o = 0; o < outer; o++) {
    const base = o * block;
    for (let x = 0; x < nx; x++) {
      const sx = fx ? nx - 1 - x : x;
      for (let y = 0; y < ny; y++) {
        const sy = fy ? ny - 1 - y : y;
        const dst = base + (x * ny + y) * nz;
        const src = base + (sx * ny + sy) * nz;
        if (!fz) {
          out.set(data.subarray(src, src + nz), dst);
        } else {
          for (let z = 0; z < nz; z++) out[dst + z] = data[src + nz - 1 - z]!;
        }
      }
    }
  }
  return out;
}

/** The 8 mirror combinations of the three spatial axes, identity first (nnU-Net's mirroring TTA order does not matter: all are averaged). */
export function allMirrorCombinations(axes: readonly SpatialAxis[] = [0, 1, 2]): SpatialAxis[][] {
  const combos: SpatialAxis[][] = [];
  for (let mask = 0; mask < 1 << axes.length; mask++) {
    combos.push(axes.filter((_, i) => (mask >> i) & 1));
  }
  return combos;
}
