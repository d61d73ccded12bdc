/**
 * Patch extraction with implicit padding, and the placement rules of patch sampling.
 */
import { Tensor3dError } from '../errors.js';
import { allocateLike, assertShape, type ChannelVolume, type Shape3, type VoxelArray } from './volume.js';

/**
 * Copies the patch of `size` whose first voxel is `start` from every channel. `start` may be
 * negative and the patch may run past the end: voxels outside the volume get `fill`. This is
 * what makes padding of small cases unnecessary at sampling time.
 */
export function extractPatch<T extends VoxelArray>(
  volume: ChannelVolume<T>,
  start: readonly [number, number, number],
  size: Shape3,
  fill = 0,
): ChannelVolume<T> {
  assertShape(volume.data, volume.shape, 'extractPatch');
  if (size.some((n) => !Number.isInteger(n) || n <= 0))
    throw new Tensor3dError('BAD_SHAPE', `extractPatch: bad patch size [${size}]`);
  if (start.some((n) => !Number.isInteger(n)))
    throw new Tensor3dError('BAD_ARGUMENT', `extractPatch: start [${start}] must be integers`);
  const [c, nx, ny, nz] = volume.shape;
  const [px, py, pz] = size;
  const per = px * py * pz;
  const out = allocateLike(volume.data, c * per);
  if (fill !== 0) out.fill(fill);
  // Overlap of the patch with the volume, in patch coordinates.
  const x0 = Math.max(0, -start[0]);
  const x1 = Math.min(px, nx - start[0]);
  const y0 = Math.max(0, -start[1]);
  const y1 = Math.min(py, ny - start[1]);
  const z0 = Math.max(0, -start[2]);
  const z1 = Math.min(pz, nz - start[2]);
  if (x1 <= x0 || y1 <= y0 || z1 <= z0) return { data: out, shape: [c, px, py, pz] };
  for (let ch = 0; ch < c; ch++) {
    for (let x = x0; x < x1; x++) {
      for (let y = y0; y < y1; y++) {
        const from = ((ch * nx + x + start[0]) * ny + y + start[1]) * nz + start[2] + z0;
        const to = ch * per + (x * py + y) * pz + z0;
        out.set(volume.data.subarray(from, from + (z1 - z0)), to);
      }
    }
  }
  return { data: out, shape: [c, px, py, pz], ...(volume.spacing ? { spacing: volume.spacing } : {}) };
}

/**
 * Range of allowed patch starts on one axis: `[0, n - p]` when the volume is at least as large
 * as the patch, otherwise `[n - p, 0]` (the patch overhangs and is padded; any placement that
 * keeps the whole volume inside the patch is allowed).
 */
export function patchStartRange(n: number, p: number): [number, number] {
  return [Math.min(0, n - p), Math.max(0, n - p)];
}

/** Start of a patch of `size` centred on voxel `center`, clamped into {@link patchStartRange} per axis. */
export function patchStartAround(center: readonly number[], size: Shape3, shape: Shape3): Shape3 {
  return size.map((p, a) => {
    const [lo, hi] = patchStartRange(shape[a]!, p);
    return Math.min(hi, Math.max(lo, center[a]! - Math.floor(p / 2)));
  }) as Shape3;
}
