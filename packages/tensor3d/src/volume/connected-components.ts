/**
 * Connected-component labelling of binary 3-D masks (two-pass union-find).
 *
 * Components are numbered 1..N by the position of their first voxel in C order (last axis
 * fastest), which is what cc3d and `scipy.ndimage.label` + renumbering give on a C-contiguous
 * NumPy array. Metrics that depend on lesion numbers (the BraTS legacy HD95 and sensitivity)
 * need exactly this numbering.
 */
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
    throw new RangeError(`${what}: connectivity must be 6, 18 or 26, got ${connectivity}`);
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
 * Labels the connected components of the non-zero voxels of `mask`.
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
  const labels = new Int32Array(n);
  // Only neighbours already visited in a C-order scan (lexicographically before the voxel).
  const back = neighbourOffsets(connectivity).filter(
    ([dx, dy, dz]) => dx < 0 || (dx === 0 && (dy < 0 || (dy === 0 && dz < 0))),
  );
  // Layout: all back neighbours, then (for the 26-connectivity shortcut below) the four with
  // dz = +1 once more, so that both loops are plain index ranges.
  const nb = back.length;
  const nRun = connectivity === 26 ? 4 : 0;
  if (nRun) back.push(...back.filter((o) => o[2] === 1));
  const bdx = back.map((o) => o[0]);
  const bdy = back.map((o) => o[1]);
  const bdz = back.map((o) => o[2]);
  const boff = back.map(([dx, dy, dz]) => (dx * ny + dy) * nz + dz);

  let parent = new Int32Array(1024);
  let next = 1; // provisional labels start at 1; parent[0] unused
  for (let x = 0, i = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      for (let z = 0; z < nz; z++, i++) {
        if (mask[i] === 0) continue;
        let cur = 0;
        // 26-connectivity shortcut: when the previous voxel on the line is set, every back
        // neighbour with dz <= 0 is also its neighbour and already joined to it; only the four
        // with dz = +1 can bring new components.
        const lineRun = nRun > 0 && z > 0 && labels[i - 1] !== 0;
        if (lineRun) cur = find(parent, labels[i - 1]);
        const kEnd = lineRun ? nb + nRun : nb;
        for (let k = lineRun ? nb : 0; k < kEnd; k++) {
          const xx = x + bdx[k];
          const yy = y + bdy[k];
          const zz = z + bdz[k];
          if (xx < 0 || yy < 0 || yy >= ny || zz < 0 || zz >= nz) continue;
          const l = labels[i + boff[k]];
          if (l === 0) continue;
          if (cur === 0) {
            cur = find(parent, l);
          } else {
            const r = find(parent, l);
            if (r !== cur) {
              // Link the larger root under the smaller one so roots stay the oldest label.
              if (r < cur) {
                parent[cur] = r;
                cur = r;
              } else {
                parent[r] = cur;
              }
            }
          }
        }
        if (cur === 0) {
          if (next === parent.length) {
            const grown = new Int32Array(parent.length * 2);
            grown.set(parent);
            parent = grown;
          }
          parent[next] = next;
          cur = next++;
        }
        labels[i] = cur;
      }
    }
  }

  // Second pass: final numbers in order of first appearance in C order.
  const final = new Int32Array(next);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l === 0) continue;
    const r = find(parent, l);
    let f = final[r];
    if (f === 0) {
      f = ++count;
      final[r] = f;
    }
    labels[i] = f;
  }
  return { labels, count };
}

/** Voxel count of each label 0..maxLabel of a label map (index = label). */
export function labelSizes(labels: ArrayLike<number>, maxLabel: number): Float64Array {
  const sizes = new Float64Array(maxLabel + 1);
  for (let i = 0; i < labels.length; i++) sizes[labels[i]]++;
  return sizes;
}
