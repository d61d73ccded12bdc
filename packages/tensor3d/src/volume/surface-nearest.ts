/**
 * Exact nearest-neighbour distances between two sets of grid points (k-d tree).
 *
 * Surface distances need, for every surface point of one object, the distance to the nearest
 * surface point of the other. A distance transform does this in time proportional to the whole
 * bounding box; a k-d tree over the (sparse) surface points does it in time proportional to the
 * number of points, which is much less when objects are small or far apart (a lesion and a
 * distant false positive). Distances are computed as `sqrt(((di*s0)^2 + (dj*s1)^2) + (dk*s2)^2)`,
 * the same formula SciPy's `distance_transform_edt` applies to its nearest feature.
 */

const LEAF = 8;

/** Squared distance between grid points with the reference association order. */
function sq(ax: number, ay: number, az: number, bx: number, by: number, bz: number, s: readonly number[]): number {
  const dx = (ax - bx) * s[0];
  const dy = (ay - by) * s[1];
  const dz = (az - bz) * s[2];
  return dx * dx + dy * dy + dz * dz;
}

/** A static k-d tree over integer grid points, queried with anisotropic spacing. */
export class GridPointTree {
  private readonly pts: Int32Array;
  private readonly order: Int32Array;
  private readonly axis: Uint8Array;
  /** Bounding box (mm) of each internal node's points, `[min0, min1, min2, max0, max1, max2]` at 6 * mid. */
  private readonly boxes: Float64Array;
  private readonly spacing: readonly [number, number, number];

  /**
   * @param points - flattened `[i0, j0, k0, i1, j1, k1, ...]` grid coordinates.
   * @param spacing - mm per grid step along each axis.
   */
  constructor(points: Int32Array, spacing: readonly [number, number, number]) {
    this.pts = points;
    this.spacing = spacing;
    const n = points.length / 3;
    this.order = new Int32Array(n);
    for (let i = 0; i < n; i++) this.order[i] = i;
    this.axis = new Uint8Array(n);
    this.boxes = new Float64Array(6 * n);
    this.build(0, n);
  }

  /** Number of points in the tree. */
  get size(): number {
    return this.order.length;
  }

  private coord(p: number, a: number): number {
    return this.pts[p * 3 + a] * this.spacing[a];
  }

  /** Recursively splits order[lo, hi) at its median along the axis of largest extent (mm). */
  private build(lo: number, hi: number): void {
    if (hi - lo <= LEAF) return;
    let best = 0;
    let bestSpread = -1;
    const mid = (lo + hi) >> 1;
    for (let a = 0; a < 3; a++) {
      let mn = Infinity;
      let mx = -Infinity;
      for (let i = lo; i < hi; i++) {
        const c = this.coord(this.order[i], a);
        if (c < mn) mn = c;
        if (c > mx) mx = c;
      }
      this.boxes[6 * mid + a] = mn;
      this.boxes[6 * mid + 3 + a] = mx;
      if (mx - mn > bestSpread) {
        bestSpread = mx - mn;
        best = a;
      }
    }
    this.select(lo, hi - 1, mid, best);
    this.axis[mid] = best;
    this.build(lo, mid);
    this.build(mid + 1, hi);
  }

  /** Quickselect: puts the k-th smallest (along axis a) of order[lo..hi] at k. */
  private select(lo: number, hi: number, k: number, a: number): void {
    const o = this.order;
    while (hi > lo) {
      const pivot = this.coord(o[(lo + hi) >> 1], a);
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (this.coord(o[i], a) < pivot) i++;
        while (this.coord(o[j], a) > pivot) j--;
        if (i <= j) {
          const t = o[i];
          o[i] = o[j];
          o[j] = t;
          i++;
          j--;
        }
      }
      if (k <= j) hi = j;
      else if (k >= i) lo = i;
      else return;
    }
  }

  /** Index (into the points given to the constructor) of the nearest point of the last query. */
  private lastNearest = -1;

  /**
   * Squared distance (mm²) from grid point (x, y, z) to the nearest tree point; Infinity if empty.
   * The previous query's nearest point seeds the search bound, so querying points in spatial
   * order (e.g. C order) prunes almost everything even for queries far from the tree's points.
   */
  nearestSquared(x: number, y: number, z: number): number {
    let best = Infinity;
    if (this.lastNearest >= 0) {
      const q = this.lastNearest * 3;
      best = sq(x, y, z, this.pts[q], this.pts[q + 1], this.pts[q + 2], this.spacing);
    }
    return this.search(0, this.order.length, x, y, z, best);
  }

  private search(lo: number, hi: number, x: number, y: number, z: number, best: number): number {
    const o = this.order;
    const p = this.pts;
    const s = this.spacing;
    if (hi - lo <= LEAF) {
      for (let i = lo; i < hi; i++) {
        const q = o[i] * 3;
        const d = sq(x, y, z, p[q], p[q + 1], p[q + 2], s);
        if (d < best) {
          best = d;
          this.lastNearest = o[i];
        }
      }
      return best;
    }
    const mid = (lo + hi) >> 1;
    // Prune the whole subtree when its bounding box is no closer than the best so far.
    const b = this.boxes;
    const bo = 6 * mid;
    const qx = x * s[0];
    const qy = y * s[1];
    const qz = z * s[2];
    const ex = qx < b[bo] ? b[bo] - qx : qx > b[bo + 3] ? qx - b[bo + 3] : 0;
    const ey = qy < b[bo + 1] ? b[bo + 1] - qy : qy > b[bo + 4] ? qy - b[bo + 4] : 0;
    const ez = qz < b[bo + 2] ? b[bo + 2] - qz : qz > b[bo + 5] ? qz - b[bo + 5] : 0;
    if (ex * ex + ey * ey + ez * ez >= best) return best;
    const a = this.axis[mid];
    const m = o[mid] * 3;
    const d = sq(x, y, z, p[m], p[m + 1], p[m + 2], s);
    if (d < best) {
      best = d;
      this.lastNearest = o[mid];
    }
    const diff = ((a === 0 ? x : a === 1 ? y : z) - p[m + a]) * s[a];
    const plane = diff * diff;
    if (diff < 0) {
      best = this.search(lo, mid, x, y, z, best);
      if (plane < best) best = this.search(mid + 1, hi, x, y, z, best);
    } else {
      best = this.search(mid + 1, hi, x, y, z, best);
      if (plane < best) best = this.search(lo, mid, x, y, z, best);
    }
    return best;
  }
}
