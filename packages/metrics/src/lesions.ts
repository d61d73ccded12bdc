/**
 * Building lesions from a binary region mask, as the official BraTS 2024 code does
 * (spec §4): grouping by dilation, the prediction size filter and the SSA ET/NETC merge.
 */
import {
  binaryDilation,
  labelConnectedComponents,
  labelSizes,
  nonZeroIndices,
  type Shape3,
} from '@mednext-ts/tensor3d/volume';

/** A lesion-number map: 0 = background, lesions numbered 1..maxLabel (gaps possible). */
export interface LesionMap {
  labels: Int32Array;
  /** Largest lesion number that can occur. */
  maxLabel: number;
  /**
   * Optional: each lesion's dilated region, numbered like `labels` (the 26-connected component of
   * the dilated mask that holds the lesion). For GT lesions this is exactly the matching ROI
   * (the lesion dilated by the same number of steps), which saves one dilation per lesion.
   */
  zones?: Int32Array;
}

/**
 * Groups the voxels of `mask` into lesions: pieces whose `dilation`-step 18-neighbourhood
 * dilations touch (26-connectivity) form one lesion. Lesions are numbered by the first voxel of
 * their dilated component in C order (cc3d on the dilated array). The dilated components are
 * returned as `zones`.
 */
export function groupByDilation(mask: Uint8Array, shape: Shape3, dilation: number): LesionMap {
  const dilated = binaryDilation(mask, shape, { iterations: dilation, connectivity: 18 });
  const { labels: zones, count } = labelConnectedComponents(dilated, shape, 26);
  const labels = new Int32Array(zones.length);
  const fg = nonZeroIndices(mask);
  for (let j = 0; j < fg.length; j++) labels[fg[j]] = zones[fg[j]];
  return { labels, maxLabel: count, zones };
}

/** Applies a number mapping (index = old number) to a lesion map's labels and zones, in place. */
function relabel(map: LesionMap, lut: Int32Array): void {
  for (const a of map.zones ? [map.labels, map.zones] : [map.labels]) {
    for (let i = 0; i < a.length; i++) a[i] = lut[a[i]];
  }
}

/**
 * Erases, in place, every lesion whose voxel count is <= `maxVoxels` (the official prediction
 * filter). Surviving lesions keep their numbers. Returns the voxel count per lesion number after
 * filtering (index = number; index 0 is left at 0).
 */
export function removeSmallLesions(map: LesionMap, maxVoxels: number): Float64Array {
  const sizes = labelSizes(map.labels, map.maxLabel);
  sizes[0] = 0;
  const drop = new Uint8Array(map.maxLabel + 1);
  let dropped = 0;
  for (let l = 1; l <= map.maxLabel; l++) {
    if (sizes[l] <= maxVoxels) {
      drop[l] = 1;
      sizes[l] = 0;
      dropped++;
    }
  }
  if (dropped === 0) return sizes;
  const lut = new Int32Array(map.maxLabel + 1);
  for (let l = 1; l <= map.maxLabel; l++) lut[l] = drop[l] ? 0 : l;
  relabel(map, lut);
  return sizes;
}

/**
 * Pairs `[e, n]` of an ET lesion e and a NETC lesion n that touch: some voxel of e is an
 * 18-neighbour of some voxel of n. Sorted ascending by (e, n).
 */
export function touchingPairs(et: Int32Array, netc: Int32Array, shape: Shape3): Array<[number, number]> {
  const [nx, ny, nz] = shape;
  const seen = new Set<number>();
  const pairs: Array<[number, number]> = [];
  const stride = 1 << 20; // key = e * stride + n; lesion numbers stay far below 2^20 in a 240x240x155 grid
  for (let x = 0, i = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      for (let z = 0; z < nz; z++, i++) {
        const e = et[i];
        if (e === 0) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= nx) continue;
          for (let dy = -1; dy <= 1; dy++) {
            const yy = y + dy;
            if (yy < 0 || yy >= ny) continue;
            for (let dz = -1; dz <= 1; dz++) {
              const zz = z + dz;
              if (zz < 0 || zz >= nz) continue;
              if (dx !== 0 && dy !== 0 && dz !== 0) continue; // corners are not 18-neighbours
              const n = netc[(xx * ny + yy) * nz + zz];
              if (n === 0) continue;
              const key = e * stride + n;
              if (!seen.has(key)) {
                seen.add(key);
                pairs.push([e, n]);
              }
            }
          }
        }
      }
    }
  }
  return pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/** Renumbers a lesion map to 1..K in ascending order of the numbers present (in place). */
export function renumberConsecutive(map: LesionMap): LesionMap {
  const present = new Uint8Array(map.maxLabel + 1);
  for (let i = 0; i < map.labels.length; i++) present[map.labels[i]] = 1;
  const newId = new Int32Array(map.maxLabel + 1);
  let k = 0;
  for (let l = 1; l <= map.maxLabel; l++) if (present[l]) newId[l] = ++k;
  relabel(map, newId);
  map.maxLabel = k;
  return map;
}

/** Largest lesion number actually present in a map (0 when empty). */
function maxPresent(labels: Int32Array): number {
  let m = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] > m) m = labels[i];
  return m;
}

/**
 * The SSA rule that merges ET lesions through NETC lesions (spec §4.4), applied in place to the
 * ET map, followed by renumbering to 1..K.
 *
 * Official behaviour (default): only when at least two (ET, NETC) pairs touch; walking the pairs
 * in (e, n) order, each NETC lesion gets a fresh id at its first appearance, and each touching ET
 * lesion takes the id of its lowest-numbered touching NETC lesion. This is not a transitive
 * closure (A–N1, B–N1, B–N2, C–N2 merges A+B but leaves C).
 *
 * `transitive: true` (the `--corrected` variant) merges every ET lesion connected through shared
 * NETC lesions, however long the chain.
 */
export function mergeEtThroughNetc(et: LesionMap, netc: Int32Array, shape: Shape3, transitive = false): LesionMap {
  const pairs = touchingPairs(et.labels, netc, shape);
  if (pairs.length >= 2) {
    const m = maxPresent(et.labels);
    const mapping = new Map<number, number>();
    if (!transitive) {
      const netcId = new Map<number, number>();
      let next = m + 1;
      for (const [, n] of pairs) if (!netcId.has(n)) netcId.set(n, next++);
      for (const [e, n] of pairs) if (!mapping.has(e)) mapping.set(e, netcId.get(n)!);
    } else {
      // Union-find over ET lesions, joined whenever they share a NETC lesion.
      const parent = new Map<number, number>();
      const find = (a: number): number => {
        let r = a;
        while (parent.get(r) !== r) r = parent.get(r)!;
        return r;
      };
      const firstEtOfNetc = new Map<number, number>();
      for (const [e, n] of pairs) {
        if (!parent.has(e)) parent.set(e, e);
        const other = firstEtOfNetc.get(n);
        if (other === undefined) firstEtOfNetc.set(n, e);
        else {
          const ra = find(e);
          const rb = find(other);
          if (ra !== rb) parent.set(Math.max(ra, rb), Math.min(ra, rb));
        }
      }
      for (const e of parent.keys()) mapping.set(e, find(e));
    }
    const lut = new Int32Array(Math.max(et.maxLabel, m) + 1);
    for (let l = 0; l < lut.length; l++) lut[l] = l;
    let maxLabel = et.maxLabel;
    for (const [e, id] of mapping) {
      lut[e] = id;
      if (id > maxLabel) maxLabel = id;
    }
    relabel(et, lut);
    et.maxLabel = maxLabel;
  }
  return renumberConsecutive(et);
}
