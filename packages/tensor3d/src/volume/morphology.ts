/**
 * Binary morphology on 3-D masks.
 *
 * Dilation is computed by breadth-first growth from the mask: each iteration visits only the
 * voxels added by the previous one, so the cost is proportional to the size of the dilated set
 * times the number of neighbours, not to the volume times the iteration count. The result equals
 * SciPy's `binary_dilation(mask, generate_binary_structure(3, rank), iterations)` with voxels
 * outside the volume treated as background (no wrap-around, no reflection).
 */
import { Tensor3dError } from '../errors.js';
import { checkConnectivity, neighbourOffsets, nonZeroIndices, type Connectivity } from './connected-components.js';
import { Int32List } from './int-list.js';
import { assertShape, voxelCount, type Shape3 } from './volume.js';

/** Options of {@link binaryDilation}. */
export interface DilationOptions {
  /** Number of dilation steps (default 1; 0 returns a copy of the mask as 0/1). */
  iterations?: number;
  /**
   * Structuring element as a connectivity: 6 = faces (SciPy rank 1), 18 = 3x3x3 cube minus the
   * corners (rank 2, the BraTS element), 26 = full cube (rank 3). Default 18.
   */
  connectivity?: Connectivity;
}

/**
 * Binary dilation of the non-zero voxels of `mask`.
 *
 * @param mask - voxel values in C order (`shape = [nx, ny, nz]`, last axis fastest); non-zero = set.
 * @param shape - the mask's shape.
 * @returns a new 0/1 mask of the same shape.
 */
export function binaryDilation(mask: ArrayLike<number>, shape: Shape3, options: DilationOptions = {}): Uint8Array {
  const iterations = options.iterations ?? 1;
  const connectivity = options.connectivity ?? 18;
  if (!Number.isInteger(iterations) || iterations < 0) {
    throw new Tensor3dError(
      'BAD_ARGUMENT',
      `binaryDilation: iterations must be a non-negative integer, got ${iterations}`,
    );
  }
  checkConnectivity(connectivity, 'binaryDilation');
  assertShape(mask, shape, 'binaryDilation: mask');
  const [nx, ny, nz] = shape;
  const n = voxelCount(shape);
  const out = new Uint8Array(n);
  // Bounding box of the mask: when the dilation cannot reach any face of the volume, no
  // neighbour needs a bounds check.
  const seeds = nonZeroIndices(mask);
  let frontier = Int32List.wrap(seeds);
  let x0 = nx;
  let x1 = -1;
  let y0 = ny;
  let y1 = -1;
  let z0 = nz;
  let z1 = -1;
  const nynz = ny * nz;
  for (let j = 0; j < seeds.length; j++) {
    const i = seeds[j];
    out[i] = 1;
    const x = Math.floor(i / nynz);
    const rem = i - x * nynz;
    const y = Math.floor(rem / nz);
    const z = rem - y * nz;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
    if (z < z0) z0 = z;
    if (z > z1) z1 = z;
  }
  const r = iterations;
  const unchecked = x0 >= r && y0 >= r && z0 >= r && x1 < nx - r && y1 < ny - r && z1 < nz - r;
  const offs = neighbourOffsets(connectivity);
  const odx = offs.map((o) => o[0]);
  const ody = offs.map((o) => o[1]);
  const odz = offs.map((o) => o[2]);
  const ooff = offs.map(([dx, dy, dz]) => (dx * ny + dy) * nz + dz);
  const no = offs.length;

  for (let it = 0; it < iterations && frontier.length > 0; it++) {
    const nextFrontier = new Int32List(frontier.length * 2);
    const f = frontier.data;
    if (unchecked) {
      for (let j = 0; j < frontier.length; j++) {
        const i = f[j];
        for (let k = 0; k < no; k++) {
          const q = i + ooff[k];
          if (out[q] === 0) {
            out[q] = 1;
            nextFrontier.push(q);
          }
        }
      }
      frontier = nextFrontier;
      continue;
    }
    for (let j = 0; j < frontier.length; j++) {
      const i = f[j];
      const x = Math.floor(i / nynz);
      const rem = i - x * nynz;
      const y = Math.floor(rem / nz);
      const z = rem - y * nz;
      // Voxels away from the faces need no bounds checks.
      const inner = x > 0 && x < nx - 1 && y > 0 && y < ny - 1 && z > 0 && z < nz - 1;
      for (let k = 0; k < no; k++) {
        if (!inner) {
          const xx = x + odx[k];
          const yy = y + ody[k];
          const zz = z + odz[k];
          if (xx < 0 || xx >= nx || yy < 0 || yy >= ny || zz < 0 || zz >= nz) continue;
        }
        const q = i + ooff[k];
        if (out[q] === 0) {
          out[q] = 1;
          nextFrontier.push(q);
        }
      }
    }
    frontier = nextFrontier;
  }
  return out;
}
