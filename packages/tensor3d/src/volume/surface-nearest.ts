/**
 * Exact nearest-neighbour distances between two sets of grid points (k-d tree).
 *
 * Surface distances need, for every surface point of one object, the distance to the nearest
 * surface point of the other. A distance transform does this in time proportional to the whole
 * bounding box; a k-d tree over the (sparse) surface points does it in time proportional to the
 * number of points, which is much less when objects are small or far apart (a lesion and a
 * distant false positive). The returned distance is recomputed from the integer grid offsets as
 * `((di*s0)^2 + (dj*s1)^2) + (dk*s2)^2`, the formula SciPy's `distance_transform_edt` applies to
 * its nearest feature, so values match it bit for bit.
 */

const LEAF = 8;

/** A static k-d tree over integer grid points, queried with anisotropic spacing. */
export class GridPointTree {
  /** Grid coordinates of the points, permuted into tree order (3 per point). */
  private readonly grid: Int32Array;
  /** The same points in mm, tree order. */
  private readonly mm: Float64Array;
  /** Split axis of each internal node, stored at the node's median position. */
  private readonly axis: Uint8Array;
  /** Bounding box (mm) of each internal node's points: `[min0, min1, min2, max0, max1, max2]` at 6 * mid. */
  private readonly boxes: Float64Array;
  private readonly spacing: readonly [number, number, number];
  private readonly n: number;
  /** Tree position of the nearest point of the last query (seeds the next search bound). */
  private last = -1;
  private bestPos = -1;

  /**
   * @param points - flattened `[i0, j0, k0, i1, j1, k1, ...]` grid coordinates (not modified).
   * @param spacing - mm per grid step along each axis.
   */
  constructor(points: Int32Array, spacing: readonly [number, number, number]) {
    this.spacing = spacing;
    this.n = points.length / 3;
    this.grid = points.slice();
    this.mm = new Float64Array(points.length);
    for (let p = 0; p < points.length; p += 3) {
      this.mm[p] = points[p] * spacing[0];
      this.mm[p + 1] = points[p + 1] * spacing[1];
      this.mm[p + 2] = points[p + 2] * spacing[2];
    }
    this.axis = new Uint8Array(this.n);
    this.boxes = new Float64Array(6 * this.n);
    this.build(0, this.n);
  }

  /** Number of points in the tree. */
  get size(): number {
    return this.n;
  }

  private swap(a: number, b: number): void {
    const g = this.grid;
    const m = this.mm;
    for (let c = 0; c < 3; c++) {
      const tg = g[3 * a + c];
      g[3 * a + c] = g[3 * b + c];
      g[3 * b + c] = tg;
      const tm = m[3 * a + c];
      m[3 * a + c] = m[3 * b + c];
      m[3 * b + c] = tm;
    }
  }

  /** Recursively splits points [lo, hi) at their median along the axis of largest extent. */
  private build(lo: number, hi: number): void {
    if (hi - lo <= LEAF) return;
    const m = this.mm;
    const mid = (lo + hi) >> 1;
    const bo = 6 * mid;
    let mn0 = Infinity;
    let mn1 = Infinity;
    let mn2 = Infinity;
    let mx0 = -Infinity;
    let mx1 = -Infinity;
    let mx2 = -Infinity;
    for (let p = 3 * lo; p < 3 * hi; p += 3) {
      const x = m[p];
      const y = m[p + 1];
      const z = m[p + 2];
      if (x < mn0) mn0 = x;
      if (x > mx0) mx0 = x;
      if (y < mn1) mn1 = y;
      if (y > mx1) mx1 = y;
      if (z < mn2) mn2 = z;
      if (z > mx2) mx2 = z;
    }
    const b = this.boxes;
    b[bo] = mn0;
    b[bo + 1] = mn1;
    b[bo + 2] = mn2;
    b[bo + 3] = mx0;
    b[bo + 4] = mx1;
    b[bo + 5] = mx2;
    const e0 = mx0 - mn0;
    const e1 = mx1 - mn1;
    const e2 = mx2 - mn2;
    const a = e0 >= e1 && e0 >= e2 ? 0 : e1 >= e2 ? 1 : 2;
    this.select(lo, hi - 1, mid, a);
    this.axis[mid] = a;
    this.build(lo, mid);
    this.build(mid + 1, hi);
  }

  /** Quickselect (Hoare): puts the k-th smallest point along axis a of [lo..hi] at k. */
  private select(lo: number, hi: number, k: number, a: number): void {
    const m = this.mm;
    while (hi > lo) {
      const pivot = m[3 * ((lo + hi) >> 1) + a];
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (m[3 * i + a] < pivot) i++;
        while (m[3 * j + a] > pivot) j--;
        if (i <= j) {
          if (i !== j) this.swap(i, j);
          i++;
          j--;
        }
      }
      if (k <= j) hi = j;
      else if (k >= i) lo = i;
      else return;
    }
  }

  /**
   * Squared distance (mm²) from grid point (x, y, z) to the nearest tree point; Infinity if empty.
   * The previous query's nearest point seeds the search bound, so querying points in spatial
   * order (e.g. C order) prunes almost everything.
   */
  nearestSquared(x: number, y: number, z: number): number {
    if (this.n === 0) return Infinity;
    const qx = x * this.spacing[0];
    const qy = y * this.spacing[1];
    const qz = z * this.spacing[2];
    let best = Infinity;
    this.bestPos = -1;
    if (this.last >= 0) {
      const p = 3 * this.last;
      const dx = qx - this.mm[p];
      const dy = qy - this.mm[p + 1];
      const dz = qz - this.mm[p + 2];
      best = dx * dx + dy * dy + dz * dz;
      this.bestPos = this.last;
    }
    this.search(0, this.n, qx, qy, qz, best);
    this.last = this.bestPos;
    // Exact value from the integer offsets (the mm-space search may differ in the last ulp).
    const p = 3 * this.bestPos;
    const s = this.spacing;
    const dx = (x - this.grid[p]) * s[0];
    const dy = (y - this.grid[p + 1]) * s[1];
    const dz = (z - this.grid[p + 2]) * s[2];
    return dx * dx + dy * dy + dz * dz;
  }

  private search(lo: number, hi: number, qx: number, qy: number, qz: number, best: number): number {
    const m = this.mm;
    if (hi - lo <= LEAF) {
      for (let i = lo, p = 3 * lo; i < hi; i++, p += 3) {
        const dx = qx - m[p];
        const dy = qy - m[p + 1];
        const dz = qz - m[p + 2];
        const d = dx * dx + dy * dy + dz * dz;
        if (d < best) {
          best = d;
          this.bestPos = i;
        }
      }
      return best;
    }
    const mid = (lo + hi) >> 1;
    // Prune the whole subtree when its bounding box is no closer than the best so far.
    const b = this.boxes;
    const bo = 6 * mid;
    const ex = qx < b[bo] ? b[bo] - qx : qx > b[bo + 3] ? qx - b[bo + 3] : 0;
    const ey = qy < b[bo + 1] ? b[bo + 1] - qy : qy > b[bo + 4] ? qy - b[bo + 4] : 0;
    const ez = qz < b[bo + 2] ? b[bo + 2] - qz : qz > b[bo + 5] ? qz - b[bo + 5] : 0;
    if (ex * ex + ey * ey + ez * ez >= best) return best;
    const p = 3 * mid;
    const dx = qx - m[p];
    const dy = qy - m[p + 1];
    const dz = qz - m[p + 2];
    const d = dx * dx + dy * dy + dz * dz;
    if (d < best) {
      best = d;
      this.bestPos = mid;
    }
    const a = this.axis[mid];
    const diff = a === 0 ? dx : a === 1 ? dy : dz;
    if (diff < 0) {
      best = this.search(lo, mid, qx, qy, qz, best);
      if (diff * diff < best) best = this.search(mid + 1, hi, qx, qy, qz, best);
    } else {
      best = this.search(mid + 1, hi, qx, qy, qz, best);
      if (diff * diff < best) best = this.search(lo, mid, qx, qy, qz, best);
    }
    return best;
  }
}
