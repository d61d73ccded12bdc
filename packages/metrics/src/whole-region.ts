/**
 * Whole-region ("legacy") values of the official evaluation (spec §6), computed on the
 * lesion-number maps G (GT) and P (filtered prediction) of one region.
 */
import { hausdorffDistance, type Shape3 } from '@mednext-ts/tensor3d/volume';

/** Voxel counts and sums of a pair of lesion maps, gathered in one pass. */
export interface RegionCounts {
  /** Voxels with G > 0, P > 0, both > 0. */
  gt: number;
  pred: number;
  both: number;
  /** Sums of the lesion numbers of G and P. */
  gtSum: number;
  predSum: number;
  /** Voxels where G = 1 and P = 1; where G = 1 or P = 1. */
  bothOne: number;
  eitherOne: number;
}

/** One pass over two lesion maps collecting everything the whole-region values need. */
export function regionCounts(gt: Int32Array, pred: Int32Array): RegionCounts {
  const c: RegionCounts = { gt: 0, pred: 0, both: 0, gtSum: 0, predSum: 0, bothOne: 0, eitherOne: 0 };
  let g0 = 0;
  let p0 = 0;
  let b0 = 0;
  let gs = 0;
  let ps = 0;
  let b1 = 0;
  let e1 = 0;
  for (let i = 0; i < gt.length; i++) {
    const g = gt[i];
    const p = pred[i];
    if ((g | p) === 0) continue;
    gs += g;
    ps += p;
    if (g !== 0) g0++;
    if (p !== 0) p0++;
    if (g !== 0 && p !== 0) b0++;
    if (g === 1 && p === 1) b1++;
    if (g === 1 || p === 1) e1++;
  }
  c.gt = g0;
  c.pred = p0;
  c.both = b0;
  c.gtSum = gs;
  c.predSum = ps;
  c.bothOne = b1;
  c.eitherOne = e1;
  return c;
}

/** Binary Dice of (G > 0) and (P > 0) from counts; 1 when both are empty. */
export function diceFromCounts(c: RegionCounts): number {
  if (c.gt === 0 && c.pred === 0) return 1;
  return (2 * c.both) / (c.gt + c.pred);
}

/** Binary Dice of (G > 0) and (P > 0); 1 when both are empty. */
export function legacyDice(gt: Int32Array, pred: Int32Array): number {
  return diceFromCounts(regionCounts(gt, pred));
}

/**
 * Legacy HD95: 0 when both maps are empty, otherwise the DeepMind HD95 of the maps themselves.
 * Official (`binary = false`): the lesion-number maps are passed as they are, so voxels of lesions
 * numbered 2, 3, ... count as surface (8-bit neighbour-code wrap-around, spec §6.2).
 * `binary = true` (the `--corrected` variant) uses the 0/1 masks. Infinity (one side empty) is
 * returned as is; callers replace it by the penalty.
 */
export function legacyHd95(
  gt: Int32Array,
  pred: Int32Array,
  shape: Shape3,
  spacing: readonly [number, number, number],
  binary = false,
): number {
  let any = false;
  for (let i = 0; i < gt.length && !any; i++) any = gt[i] !== 0 || pred[i] !== 0;
  if (!any) return 0;
  if (binary) {
    const g = Uint8Array.from(gt, (v) => (v !== 0 ? 1 : 0));
    const p = Uint8Array.from(pred, (v) => (v !== 0 ? 1 : 0));
    return hausdorffDistance(g, p, shape, spacing);
  }
  return hausdorffDistance(gt, pred, shape, spacing);
}

/** The smallest positive normal double, Python's `sys.float_info.min`. */
const TINY = 2.2250738585072014e-308;

/**
 * Sensitivity and specificity with the GaNDLF-derived formula of the official code (spec §6.3),
 * from {@link regionCounts}.
 *
 * Official (`binary = false`): on the lesion-number maps: iC / rC = sum of the numbers in P / G,
 * TP = voxels where both are 1, FP = iC − TP, FN = rC − TP, TN = voxels where neither is 1. So
 * only lesions numbered 1 can be true positives. `binary = true` (corrected) uses 0/1 masks.
 *
 * @param totalVoxels - voxel count of the whole image; the maps may be a crop that holds every
 *   non-zero voxel, the voxels outside it count as true negatives.
 */
export function sensSpecFromCounts(
  c: RegionCounts,
  totalVoxels: number,
  binary = false,
): { sensitivity: number; specificity: number } {
  const iC = binary ? c.pred : c.predSum;
  const rC = binary ? c.gt : c.gtSum;
  const tp = binary ? c.both : c.bothOne;
  const tn = totalVoxels - (binary ? c.gt + c.pred - c.both : c.eitherOne);
  const fp = iC - tp;
  const fn = rC - tp;
  let sensitivity = tp / (tp + fn + TINY);
  const specificity = tn / (tn + fp + TINY);
  if (iC === 0 && rC === 0) sensitivity = 1;
  return { sensitivity, specificity };
}

/** {@link sensSpecFromCounts} on two lesion maps. */
export function sensitivitySpecificity(
  gt: Int32Array,
  pred: Int32Array,
  totalVoxels: number,
  binary = false,
): { sensitivity: number; specificity: number } {
  return sensSpecFromCounts(regionCounts(gt, pred), totalVoxels, binary);
}
