/**
 * Whole-region ("legacy") values of the official evaluation (spec §6), computed on the
 * lesion-number maps G (GT) and P (filtered prediction) of one region.
 */
import { hausdorffDistance, type Shape3 } from '@mednext-ts/tensor3d';

/** Binary Dice of (G > 0) and (P > 0); 1 when both are empty. */
export function legacyDice(gt: Int32Array, pred: Int32Array): number {
  let g = 0;
  let p = 0;
  let both = 0;
  for (let i = 0; i < gt.length; i++) {
    const a = gt[i] !== 0;
    const b = pred[i] !== 0;
    if (a) g++;
    if (b) p++;
    if (a && b) both++;
  }
  if (g === 0 && p === 0) return 1;
  return (2 * both) / (g + p);
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
 * Sensitivity and specificity with the GaNDLF-derived formula of the official code (spec §6.3).
 *
 * Official (`binary = false`): on the lesion-number maps: iC / rC = sum of the numbers in P / G,
 * TP = voxels where both are 1, FP = iC − TP, FN = rC − TP, TN = voxels where neither is 1. So
 * only lesions numbered 1 can be true positives. `binary = true` (corrected) uses 0/1 masks.
 *
 * @param totalVoxels - voxel count of the whole image; the maps may be a crop that holds every
 *   non-zero voxel, the voxels outside it count as true negatives.
 */
export function sensitivitySpecificity(
  gt: Int32Array,
  pred: Int32Array,
  totalVoxels: number,
  binary = false,
): { sensitivity: number; specificity: number } {
  let iC = 0;
  let rC = 0;
  let tp = 0;
  let eitherOne = 0;
  for (let i = 0; i < gt.length; i++) {
    const g = binary ? (gt[i] !== 0 ? 1 : 0) : gt[i];
    const p = binary ? (pred[i] !== 0 ? 1 : 0) : pred[i];
    iC += p;
    rC += g;
    if (p === 1 && g === 1) tp++;
    if (p === 1 || g === 1) eitherOne++;
  }
  const tn = totalVoxels - eitherOne;
  const fp = iC - tp;
  const fn = rC - tp;
  let sensitivity = tp / (tp + fn + TINY);
  const specificity = tn / (tn + fp + TINY);
  if (iC === 0 && rC === 0) sensitivity = 1;
  return { sensitivity, specificity };
}
