/**
 * Padding of volumes smaller than a patch.
 */
import { allocateLike, assertShape, type ChannelVolume, type Shape3, type VoxelArray } from './volume.js';

/** A padded volume and where the original sits inside it. */
export interface PadResult<T extends VoxelArray> {
  volume: ChannelVolume<T>;
  /** Index of the original voxel (0, 0, 0) in the padded volume. */
  offset: Shape3;
}

/**
 * Pads every channel so that each spatial axis is at least `minShape`, splitting the padding
 * evenly (the extra voxel of an odd amount goes after, as nnU-Net does). Axes that are already
 * large enough are left alone. Returns the input unchanged (offset 0) when nothing needs padding.
 */
export function padChannels<T extends VoxelArray>(volume: ChannelVolume<T>, minShape: Shape3, value = 0): PadResult<T> {
  assertShape(volume.data, volume.shape, 'padChannels');
  const [c, nx, ny, nz] = volume.shape;
  const src: Shape3 = [nx, ny, nz];
  const dst = src.map((n, a) => Math.max(n, minShape[a]!)) as Shape3;
  const offset = dst.map((n, a) => Math.floor((n - src[a]!) / 2)) as Shape3;
  if (dst.every((n, a) => n === src[a])) return { volume, offset: [0, 0, 0] };
  const per = dst[0] * dst[1] * dst[2];
  const out = allocateLike(volume.data, c * per);
  if (value !== 0) out.fill(value);
  for (let ch = 0; ch < c; ch++) {
    for (let x = 0; x < nx; x++) {
      for (let y = 0; y < ny; y++) {
        const from = ((ch * nx + x) * ny + y) * nz;
        const to = ch * per + ((x + offset[0]) * dst[1] + y + offset[1]) * dst[2] + offset[2];
        out.set(volume.data.subarray(from, from + nz), to);
      }
    }
  }
  return { volume: { data: out, shape: [c, ...dst], ...(volume.spacing ? { spacing: volume.spacing } : {}) }, offset };
}
