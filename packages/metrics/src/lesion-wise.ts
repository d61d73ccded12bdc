/**
 * Lesion-wise matching and scores (spec §5): each GT lesion is matched to every prediction group
 * that overlaps the lesion dilated by the task's dilation; whole matched groups enter the
 * lesion's Dice and HD95.
 */
import { binaryDilation, hausdorffDistance, type Shape3 } from '@mednext-ts/tensor3d/volume';
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
 * @param gt - GT lesion map (numbers 1..maxLabel); its `zones`, when present, are used as the
 *   matching ROIs, otherwise each lesion is dilated separately.
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
  const { boxes: gtBoxes, sizes: gtSizes } = labelBoxes(gt.labels, shape, gt.maxLabel);
  const { boxes: predBoxes, sizes: predSizes } = labelBoxes(pred.labels, shape, pred.maxLabel);
  const matchedSets = gt.zones
    ? matchByZones(gt.zones, pred.labels, gt.maxLabel, pred.maxLabel)
    : matchByDilation(gt, pred, shape, dilation, gtBoxes);
  const everMatched = new Uint8Array(pred.maxLabel + 1);
  const lesions: LesionMatch[] = [];

  for (let g = 1; g <= gt.maxLabel; g++) {
    const box = gtBoxes[g];
    const voxels = gtSizes[g];
    const matched = matchedSets[g];
    for (const p of matched) everMatched[p] = 1;
    if (!box) {
      lesions.push({ gtLesion: g, voxels: 0, matched, dice: NaN, hd95: Infinity });
      continue;
    }
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
    const hs = boxShape(hdBox);
    const a = new Uint8Array(hs[0] * hs[1] * hs[2]);
    const b = new Uint8Array(a.length);
    let overlap = 0;
    const [, ny, nz] = shape;
    for (let x = hdBox[0], k = 0; x < hdBox[3]; x++) {
      for (let y = hdBox[1]; y < hdBox[4]; y++) {
        const row = (x * ny + y) * nz;
        for (let z = hdBox[2]; z < hdBox[5]; z++, k++) {
          const inGt = gt.labels[row + z] === g;
          const inPred = isMatched[pred.labels[row + z]] === 1;
          if (inGt) a[k] = 1;
          if (inPred) b[k] = 1;
          if (inGt && inPred) overlap++;
        }
      }
    }
    const dice = (2 * overlap) / (voxels + predVoxels);
    const hd95 = hausdorffDistance(a, b, hs, spacing);
    lesions.push({ gtLesion: g, voxels, matched, dice, hd95 });
  }

  const falsePositives: number[] = [];
  for (let p = 1; p <= pred.maxLabel; p++) if (predSizes[p] > 0 && !everMatched[p]) falsePositives.push(p);
  return { lesions, falsePositives };
}

/** Matched prediction numbers per GT lesion (ascending), from the lesions' dilated zones: one pass. */
function matchByZones(zones: Int32Array, pred: Int32Array, maxGt: number, maxPred: number): number[][] {
  const seen = new Set<number>();
  const stride = maxPred + 1;
  let last = -1;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i];
    if (p === 0) continue;
    const z = zones[i];
    if (z === 0) continue;
    const key = z * stride + p;
    if (key !== last) {
      seen.add(key);
      last = key;
    }
  }
  const out: number[][] = Array.from({ length: maxGt + 1 }, () => []);
  for (const key of seen) out[Math.floor(key / stride)].push(key % stride);
  for (const list of out) list.sort((a, b) => a - b);
  return out;
}

/** Matched prediction numbers per GT lesion (ascending), dilating each lesion within its box. */
function matchByDilation(
  gt: LesionMap,
  pred: LesionMap,
  shape: Shape3,
  dilation: number,
  gtBoxes: Array<Box | null>,
): number[][] {
  const out: number[][] = [[]];
  for (let g = 1; g <= gt.maxLabel; g++) {
    const box = gtBoxes[g];
    if (!box) {
      out.push([]);
      continue;
    }
    // The lesion dilated within its box grown by the dilation (nothing can reach further).
    const roiBox = padBox(box, dilation, shape);
    const lesion = extractBox(gt.labels, shape, roiBox, (n) => new Uint8Array(n));
    for (let i = 0; i < lesion.length; i++) lesion[i] = lesion[i] === g ? 1 : 0;
    const roi = binaryDilation(lesion, boxShape(roiBox), { iterations: dilation, connectivity: 18 });
    const hit = new Set<number>();
    forEachInBox(roiBox, shape, (inner, outer) => {
      const p = pred.labels[outer];
      if (p !== 0 && roi[inner]) hit.add(p);
    });
    out.push([...hit].sort((a, b) => a - b));
  }
  return out;
}
