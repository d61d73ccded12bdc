/** Axis-aligned sub-boxes of C-order volumes: bounding boxes, extraction. */
import type { Shape3 } from '@mednext-ts/tensor3d/volume';

/** Inclusive-exclusive box `[x0, y0, z0, x1, y1, z1]`. */
export type Box = [number, number, number, number, number, number];

/** Shape of a box. */
export function boxShape(b: Box): Shape3 {
  return [b[3] - b[0], b[4] - b[1], b[5] - b[2]];
}

/** Grows `b` (in place) to contain voxel (x, y, z). */
function extendBox(b: Box, x: number, y: number, z: number): void {
  if (x < b[0]) b[0] = x;
  if (x >= b[3]) b[3] = x + 1;
  if (y < b[1]) b[1] = y;
  if (y >= b[4]) b[4] = y + 1;
  if (z < b[2]) b[2] = z;
  if (z >= b[5]) b[5] = z + 1;
}

/**
 * Per-label bounding boxes (null for absent labels) and voxel counts of a label map with labels
 * 1..maxLabel, in one pass.
 */
export function labelBoxes(
  labels: Int32Array,
  shape: Shape3,
  maxLabel: number,
): { boxes: Array<Box | null>; sizes: Float64Array } {
  const [nx, ny, nz] = shape;
  const boxes: Array<Box | null> = new Array(maxLabel + 1).fill(null);
  const sizes = new Float64Array(maxLabel + 1);
  for (let x = 0, i = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      for (let z = 0; z < nz; z++, i++) {
        const l = labels[i];
        if (l === 0) continue;
        sizes[l]++;
        const b = boxes[l];
        if (!b) {
          boxes[l] = [x, y, z, x + 1, y + 1, z + 1];
          continue;
        }
        extendBox(b, x, y, z);
      }
    }
  }
  return { boxes, sizes };
}

/** Smallest box containing both. */
export function unionBox(a: Box, b: Box): Box {
  return [
    Math.min(a[0], b[0]),
    Math.min(a[1], b[1]),
    Math.min(a[2], b[2]),
    Math.max(a[3], b[3]),
    Math.max(a[4], b[4]),
    Math.max(a[5], b[5]),
  ];
}

/** `b` grown by `pad` voxels on every side, clipped to a volume of `shape`. */
export function padBox(b: Box, pad: number, shape: Shape3): Box {
  return [
    Math.max(0, b[0] - pad),
    Math.max(0, b[1] - pad),
    Math.max(0, b[2] - pad),
    Math.min(shape[0], b[3] + pad),
    Math.min(shape[1], b[4] + pad),
    Math.min(shape[2], b[5] + pad),
  ];
}

/**
 * Calls `fn(inner, outer)` for every voxel of box `b`, with `inner` the flat index within the box
 * and `outer` the flat index within the volume of `shape`, both in C order.
 */
export function forEachInBox(b: Box, shape: Shape3, fn: (inner: number, outer: number) => void): void {
  const [, ny, nz] = shape;
  for (let x = b[0], inner = 0; x < b[3]; x++) {
    for (let y = b[1]; y < b[4]; y++) {
      const row = (x * ny + y) * nz;
      for (let z = b[2]; z < b[5]; z++, inner++) fn(inner, row + z);
    }
  }
}

/** Copies box `b` of a volume into a new array of the given constructor. */
export function extractBox<T extends { [i: number]: number }>(
  data: ArrayLike<number>,
  shape: Shape3,
  b: Box,
  make: (length: number) => T,
): T {
  const s = boxShape(b);
  const out = make(s[0] * s[1] * s[2]);
  forEachInBox(b, shape, (inner, outer) => {
    out[inner] = data[outer];
  });
  return out;
}
