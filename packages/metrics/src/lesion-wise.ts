/**
 * Lesion-wise matching and scores (spec §5): each GT lesion is matched to every prediction group
 * that overlaps the lesion dilated by the task's dilation; whole matched groups enter the
 * lesion's Dice and HD95.
 */
import { binaryDilation, hausdorffDistance, type Shape3 } from '@mednext-ts/tensor3d';
import { boxShape, extractBox, forEachInBox, labelBoxes, padBox, unionBox, type Box } from './box.js';
import type { LesionMap } from './lesions.js';

/** One GT lesion's row of the official per-lesion table. */
export interface LesionMatch {
  gtLesion: number;
  /** Voxel count of the GT lesion. */
  voxels: number;
  /** Prediction group numbers overlapping the lesion's dilated ROI, ascending. */
  matched: number[];
  dice: number;
  /** HD95 in mm; Infinity when nothing matched (replaced by the penalty by the caller). */
  hd95: number;
}

/** Matching result of one region. */
export interface RegionMatching {
  lesions: LesionMatch[];
  /** Prediction groups matched to no GT lesion (counted or not). */
  falsePositives: number[];
}

/**
 * Matches GT lesions to prediction groups and computes per-lesion Dice and HD95.
 *
 * @param gt - GT lesion map (numbers 1..maxLabel).
 * @param pred - filtered prediction group map.
 * @param dilation - 18-neighbourhood dilation steps of the matching ROI.
 */
export function matchLesions(
  gt: LesionMap,
  pred: LesionMap,
  shape: Shape3,
  spacing: readonly [number, number, number],
  dilation: number,
): RegionMatching {
  const gtBoxes = labelBoxes(gt.labels, shape, gt.maxLabel).boxes;
  const { boxes: predBoxes, sizes: predSizes } = labelBoxes(pred.labels, shape, pred.maxLabel);
  const everMatched = new Uint8Array(pred.maxLabel + 1);
  const lesions: LesionMatch[] = [];

  for (let g = 1; g <= gt.maxLabel; g++) {
    const box = gtBoxes[g];
    if (!box) {
      lesions.push({ gtLesion: g, voxels: 0, matched: [], dice: NaN, hd95: Infinity });
      continue;
    }
    // ROI: the lesion dilated within its box grown by the dilation (nothing can reach further).
    const roiBox = padBox(box, dilation, shape);
    const lesion = extractBox(gt.labels, shape, roiBox, (n) => new Uint8Array(n));
    let voxels = 0;
    for (let i = 0; i < lesion.length; i++) {
      lesion[i] = lesion[i] === g ? 1 : 0;
      voxels += lesion[i];
    }
    const roi = binaryDilation(lesion, boxShape(roiBox), { iterations: dilation, connectivity: 18 });
    const hit = new Set<number>();
    forEachInBox(roiBox, shape, (inner, outer) => {
      const p = pred.labels[outer];
      if (p !== 0 && roi[inner]) hit.add(p);
    });
    const matched = [...hit].sort((a, b) => a - b);
    for (const p of matched) everMatched[p] = 1;

    if (matched.length === 0) {
      lesions.push({ gtLesion: g, voxels, matched, dice: 0, hd95: Infinity });
      continue;
    }
    const isMatched = new Uint8Array(pred.maxLabel + 1);
    let predVoxels = 0;
    let hdBox: Box = box;
    for (const p of matched) {
      isMatched[p] = 1;
      predVoxels += predSizes[p];
      hdBox = unionBox(hdBox, predBoxes[p]!);
    }
    const a = new Uint8Array(boxShape(hdBox).reduce((s, n) => s * n, 1));
    const b = new Uint8Array(a.length);
    let overlap = 0;
    forEachInBox(hdBox, shape, (inner, outer) => {
      const inGt = gt.labels[outer] === g;
      const inPred = isMatched[pred.labels[outer]] === 1;
      if (inGt) a[inner] = 1;
      if (inPred) b[inner] = 1;
      if (inGt && inPred) overlap++;
    });
    const dice = (2 * overlap) / (voxels + predVoxels);
    const hd95 = hausdorffDistance(a, b, boxShape(hdBox), spacing);
    lesions.push({ gtLesion: g, voxels, matched, dice, hd95 });
  }

  const falsePositives: number[] = [];
  for (let p = 1; p <= pred.maxLabel; p++) if (predSizes[p] > 0 && !everMatched[p]) falsePositives.push(p);
  return { lesions, falsePositives };
}
