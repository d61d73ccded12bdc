/** Small deterministic helpers shared by the volume-operation tests. */
import type { Shape3 } from '../src/volume/volume.js';

/** Mulberry32: a tiny seeded PRNG so random test volumes are reproducible. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random 0/1 mask with the given foreground probability. */
export function randomMask(shape: Shape3, p: number, seed: number): Uint8Array {
  const r = rng(seed);
  const m = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < m.length; i++) m[i] = r() < p ? 1 : 0;
  return m;
}

/** Calls fn(x, y, z, flatIndex) for every voxel in C order. */
export function forEachVoxel(shape: Shape3, fn: (x: number, y: number, z: number, i: number) => void): void {
  for (let x = 0, i = 0; x < shape[0]; x++) {
    for (let y = 0; y < shape[1]; y++) {
      for (let z = 0; z < shape[2]; z++, i++) fn(x, y, z, i);
    }
  }
}

/** Whether (dx, dy, dz) is a neighbour offset of the connectivity (6, 18 or 26). */
function isNeighbour(dx: number, dy: number, dz: number, connectivity: number): boolean {
  const l1 = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
  const linf = Math.max(Math.abs(dx), Math.abs(dy), Math.abs(dz));
  if (l1 === 0 || linf > 1) return false;
  return connectivity === 6 ? l1 === 1 : connectivity === 18 ? l1 <= 2 : true;
}

/** Calls fn(flatIndex, x, y, z) for every in-bounds neighbour of voxel (x, y, z) under the connectivity (6, 18 or 26). */
export function forEachNeighbour(
  shape: Shape3,
  x: number,
  y: number,
  z: number,
  connectivity: number,
  fn: (j: number, x: number, y: number, z: number) => void,
): void {
  const [nx, ny, nz] = shape;
  for (let dx = -1; dx <= 1; dx++)
    for (let dy = -1; dy <= 1; dy++)
      for (let dz = -1; dz <= 1; dz++) {
        if (!isNeighbour(dx, dy, dz, connectivity)) continue;
        const [xx, yy, zz] = [x + dx, y + dy, z + dz];
        if (xx < 0 || yy < 0 || zz < 0 || xx >= nx || yy >= ny || zz >= nz) continue;
        fn((xx * ny + yy) * nz + zz, xx, yy, zz);
      }
}
