/**
 * Connected-component labelling of binary 3-D masks (two-pass union-find).
 *
 * Components are numbered 1..N by the position of their first voxel in C order (last axis
 * fastest), which is what cc3d and `scipy.ndimage.label` + renumbering give on a C-contiguous
 * NumPy array. Metrics that depend on lesion numbers (the BraTS legacy HD95 and sensitivity)
 * need exactly this numbering.
 */
import { Tensor3dError } from '../errors.js';
import { Int32List } from './int-list.js';
import { assertShape, voxelCount, type Shape3 } from './volume.js';

/** Voxel connectivity: faces (6), faces + edges (18) or faces + edges + corners (26). */
export type Connectivity = 6 | 18 | 26;

/** Result of {@link labelConnectedComponents}. */
export interface ComponentLabels {
  /** Component number per voxel (0 = background), C order, same shape as the mask. */
  labels: Int32Array;
  /** Number of components N; labels run 1..N without gaps. */
  count: number;
}

/**
 * Neighbour offsets `[dx, dy, dz]` of a connectivity (the centre excluded). 18 is the 3x3x3 cube
 * minus its 8 corners, i.e. SciPy's `generate_binary_structure(3, 2)`.
 */
export function neighbourOffsets(connectivity: Connectivity): Array<[number, number, number]> {
  const maxL1 = connectivity === 6 ? 1 : connectivity === 18 ? 2 : 3;
  const out: Array<[number, number, number]> = [];
  for (let dx = -1; dx <= 1; dx++) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dz = -1; dz <= 1; dz++) {
        const l1 = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
        if (l1 > 0 && l1 <= maxL1) out.push([dx, dy, dz]);
      }
    }
  }
  return out;
}

/** Throws a RangeError naming `what` unless `connectivity` is 6, 18 or 26. */
export function checkConnectivity(connectivity: number, what: string): asserts connectivity is Connectivity {
  if (connectivity !== 6 && connectivity !== 18 && connectivity !== 26) {
    throw new Tensor3dError('BAD_ARGUMENT', `${what}: connectivity must be 6, 18 or 26, got ${connectivity}`);
  }
}

/** Path-halving find on a parent array. */
function find(parent: Int32Array, a: number): number {
  while (parent[a] !== a) {
    const up = parent[parent[a]];
    parent[a] = up;
    a = up;
  }
  return a;
}

/**
 * Flat indices of the non-zero voxels, ascending (C order). For byte masks the zero stretches
 * are skipped eight bytes at a time, which matters for the sparse masks of lesion maps in a
 * large box.
 */
export function nonZeroIndices(mask: ArrayLike<number>): Int32Array {
  const out = new Int32List();
  const n = mask.length;
  let i = 0;
  if (mask instanceof Uint8Array && mask.byteOffset % 4 === 0) {
    const words = new Uint32Array(mask.buffer, mask.byteOffset, n >> 2);
    const pairs = words.length & ~1;
    for (let w = 0; w < pairs; w += 2) {
      if ((words[w] | words[w + 1]) === 0) continue;
      for (let b = 4 * w, e = b + 8; b < e; b++) if (mask[b] !== 0) out.push(b);
    }
    i = 4 * pairs;
  }
  for (; i < n; i++) if (mask[i] !== 0) out.push(i);
  return out.data.slice(0, out.length);
}

/**
 * Labels the connected components of the non-zero voxels of `mask`.
 *
 * Works on runs of foreground voxels along the last axis (union-find over runs, two passes), so
 * the cost of dense masks grows with the number of runs rather than voxels. Two runs in rows
 * (x, y) and (x + dx, y + dy) touch when their z-ranges overlap, or are adjacent when the
 * connectivity includes the diagonal step.
 *
 * @param mask - voxel values in C order; any non-zero value is foreground.
 * @param shape - `[nx, ny, nz]`, last axis fastest.
 * @param connectivity - 6, 18 or 26 (default 26, the BraTS setting).
 * @returns per-voxel component numbers 1..N (first voxel in C order decides the order) and N.
 */
export function labelConnectedComponents(
  mask: ArrayLike<number>,
  shape: Shape3,
  connectivity: Connectivity = 26,
): ComponentLabels {
  checkConnectivity(connectivity, 'labelConnectedComponents');
  assertShape(mask, shape, 'labelConnectedComponents: mask');
  const [nx, ny, nz] = shape;
  const n = voxelCount(shape);
  const rows = nx * ny;

  // Runs [start, end) per row, in C order; rowFirst[r]..rowFirst[r + 1] are row r's runs.
  const starts = new Int32List();
  const ends = new Int32List();
  const rowFirst = new Int32Array(rows + 1);
  const fg = nonZeroIndices(mask);
  let nextRow = 0;
  for (let j = 0; j < fg.length;) {
    const i0 = fg[j];
    const r = Math.floor(i0 / nz);
    while (nextRow <= r) rowFirst[nextRow++] = starts.length;
    const rowEnd = (r + 1) * nz;
    let i1 = i0 + 1;
    j++;
    while (j < fg.length && fg[j] === i1 && i1 < rowEnd) {
      i1++;
      j++;
    }
    starts.push(i0 - r * nz);
    ends.push(i1 - r * nz);
  }
  while (nextRow <= rows) rowFirst[nextRow++] = starts.length;
  const nRuns = starts.length;
  const st = starts.data;
  const en = ends.data;

  // Earlier rows a run can touch: (dx, dy, extra z reach), by connectivity.
  const backRows: Array<[number, number, number]> = [];
  for (const [dx, dy] of [
    [0, -1],
    [-1, -1],
    [-1, 0],
    [-1, 1],
  ]) {
    const diagonal = dx !== 0 && dy !== 0;
    if (diagonal && connectivity === 6) continue;
    // Runs in a face-adjacent row touch when z-ranges are within 1 (edge/corner neighbours) for
    // 18/26; in a diagonal row only for 26.
    const reach = diagonal ? (connectivity === 26 ? 1 : 0) : connectivity === 6 ? 0 : 1;
    backRows.push([dx, dy, reach]);
  }

  const parent = new Int32Array(nRuns);
  for (let i = 0; i < nRuns; i++) parent[i] = i;
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      const r = x * ny + y;
      const a0 = rowFirst[r];
      const a1 = rowFirst[r + 1];
      if (a0 === a1) continue;
      for (const [dx, dy, reach] of backRows) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx < 0 || yy < 0 || yy >= ny) continue;
        const rr = xx * ny + yy;
        let b = rowFirst[rr];
        const b1 = rowFirst[rr + 1];
        // Two-pointer sweep over both sorted run lists.
        for (let a = a0; a < a1 && b < b1;) {
          if (en[b] + reach <= st[a]) {
            b++;
          } else if (en[a] + reach <= st[b]) {
            a++;
          } else {
            const ra = find(parent, a);
            const rb = find(parent, b);
            if (ra !== rb) {
              if (ra < rb) parent[rb] = ra;
              else parent[ra] = rb;
            }
            // Advance the run that ends first; the other may touch the next run too.
            if (en[a] < en[b]) a++;
            else b++;
          }
        }
      }
    }
  }

  // Final numbers in order of first appearance: runs are in C order, so a component's first run
  // holds its first voxel.
  const labels = new Int32Array(n);
  const final = new Int32Array(nRuns);
  let count = 0;
  for (let i = 0, r = 0; i < nRuns; i++) {
    const root = find(parent, i);
    let f = final[root];
    if (f === 0) {
      f = ++count;
      final[root] = f;
    }
    while (rowFirst[r + 1] <= i) r++;
    labels.fill(f, r * nz + st[i], r * nz + en[i]);
  }
  return { labels, count };
}

/** Voxel count of each label 0..maxLabel of a label map (index = label). */
export function labelSizes(labels: ArrayLike<number>, maxLabel: number): Float64Array {
  const sizes = new Float64Array(maxLabel + 1);
  for (let i = 0; i < labels.length; i++) sizes[labels[i]]++;
  return sizes;
}
