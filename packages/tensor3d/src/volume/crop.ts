/**
 * Foreground bounding-box crop and its inverse.
 *
 * Preprocessing crops every case to the box of voxels that are non-zero in any modality (the
 * skull-stripped brain); the box is stored so that predictions can be pasted back into the
 * original grid.
 */
import { Tensor3dError } from '../errors.js';
import { allocateLike, assertShape, type ChannelVolume, type Shape3, type Volume, type VoxelArray } from './volume.js';

/** An axis-aligned box in voxel indices: `start` inclusive, `end` exclusive, per axis. */
export interface BoundingBox {
  start: Shape3;
  end: Shape3;
}

/** Size of a box along each axis. */
export function boxShape(box: BoundingBox): Shape3 {
  return [box.end[0] - box.start[0], box.end[1] - box.start[1], box.end[2] - box.start[2]];
}

/**
 * Smallest box containing every voxel that is non-zero in at least one of the volumes (all of the
 * same shape). Returns `null` when every voxel is zero.
 */
export function nonZeroBoundingBox(volumes: readonly Volume<VoxelArray>[]): BoundingBox | null {
  if (volumes.length === 0) throw new Tensor3dError('BAD_ARGUMENT', 'nonZeroBoundingBox: no volumes given');
  const shape = volumes[0]!.shape;
  for (const [i, v] of volumes.entries()) {
    if (v.shape.some((n, a) => n !== shape[a])) {
      throw new Tensor3dError(
        'BAD_SHAPE',
        `nonZeroBoundingBox: volume ${i} has shape [${v.shape}] but volume 0 has [${shape}]`,
      );
    }
    assertShape(v.data, v.shape, `nonZeroBoundingBox: volume ${i}`);
  }
  const [nx, ny, nz] = shape;
  const lo: Shape3 = [nx, ny, nz];
  const hi: Shape3 = [-1, -1, -1];
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      const row = (x * ny + y) * nz;
      for (let z = 0; z < nz; z++) {
        let any = false;
        for (const v of volumes) {
          if (v.data[row + z] !== 0) {
            any = true;
            break;
          }
        }
        if (!any) continue;
        if (x < lo[0]) lo[0] = x;
        if (x > hi[0]) hi[0] = x;
        if (y < lo[1]) lo[1] = y;
        if (y > hi[1]) hi[1] = y;
        if (z < lo[2]) lo[2] = z;
        if (z > hi[2]) hi[2] = z;
      }
    }
  }
  if (hi[0] < 0) return null;
  return { start: lo, end: [hi[0] + 1, hi[1] + 1, hi[2] + 1] };
}

function checkBox(box: BoundingBox, shape: Shape3, what: string): void {
  for (let a = 0; a < 3; a++) {
    if (!(box.start[a]! >= 0 && box.start[a]! < box.end[a]! && box.end[a]! <= shape[a]!)) {
      throw new Tensor3dError(
        'BAD_SHAPE',
        `${what}: box [${box.start}]..[${box.end}] does not fit inside shape [${shape}] on axis ${a}`,
      );
    }
  }
}

/** Copies the box out of a volume (same array type). */
export function cropVolume<T extends VoxelArray>(volume: Volume<T>, box: BoundingBox): Volume<T> {
  assertShape(volume.data, volume.shape, 'cropVolume');
  checkBox(box, volume.shape, 'cropVolume');
  const out = cropFlat(volume.data, volume.shape, box);
  return { data: out, shape: boxShape(box), ...(volume.spacing ? { spacing: volume.spacing } : {}) };
}

/** Copies the box out of every channel of a multi-channel volume. */
export function cropChannels<T extends VoxelArray>(volume: ChannelVolume<T>, box: BoundingBox): ChannelVolume<T> {
  assertShape(volume.data, volume.shape, 'cropChannels');
  const [c, ...rest] = volume.shape;
  const shape = rest as Shape3;
  checkBox(box, shape, 'cropChannels');
  const size = boxShape(box);
  const n = size[0] * size[1] * size[2];
  const out = allocateLike(volume.data, c * n);
  const per = shape[0] * shape[1] * shape[2];
  for (let ch = 0; ch < c; ch++) {
    out.set(cropFlat(volume.data.subarray(ch * per, (ch + 1) * per) as T, shape, box), ch * n);
  }
  return { data: out, shape: [c, ...size], ...(volume.spacing ? { spacing: volume.spacing } : {}) };
}

function cropFlat<T extends VoxelArray>(data: T, shape: Shape3, box: BoundingBox): T {
  const [sx, sy, sz] = boxShape(box);
  const out = allocateLike(data, sx * sy * sz);
  let o = 0;
  for (let x = box.start[0]; x < box.end[0]; x++) {
    for (let y = box.start[1]; y < box.end[1]; y++) {
      const from = (x * shape[1] + y) * shape[2] + box.start[2];
      out.set(data.subarray(from, from + sz), o);
      o += sz;
    }
  }
  return out;
}

/**
 * Inverse of {@link cropVolume}: places `volume` at `box` inside a new volume of `shape`, filling
 * the rest with `fill`.
 */
export function uncropVolume<T extends VoxelArray>(
  volume: Volume<T>,
  box: BoundingBox,
  shape: Shape3,
  fill = 0,
): Volume<T> {
  checkBox(box, shape, 'uncropVolume');
  const size = boxShape(box);
  if (size.some((n, a) => n !== volume.shape[a])) {
    throw new Tensor3dError(
      'BAD_SHAPE',
      `uncropVolume: volume shape [${volume.shape}] differs from the box size [${size}]`,
    );
  }
  assertShape(volume.data, volume.shape, 'uncropVolume');
  const out = allocateLike(volume.data, shape[0] * shape[1] * shape[2]);
  if (fill !== 0) out.fill(fill);
  let i = 0;
  for (let x = box.start[0]; x < box.end[0]; x++) {
    for (let y = box.start[1]; y < box.end[1]; y++) {
      const to = (x * shape[1] + y) * shape[2] + box.start[2];
      out.set(volume.data.subarray(i, i + size[2]), to);
      i += size[2];
    }
  }
  return { data: out, shape: [...shape], ...(volume.spacing ? { spacing: volume.spacing } : {}) };
}
