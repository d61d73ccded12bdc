/**
 * `evaluateCase`: the lesion-wise evaluation of one case under an evaluation protocol (the
 * BraTS 2024 presets give the official numbers by default, spec `brats-metrics.md`), on label
 * maps held as typed arrays.
 */
import { voxelCount, type Shape3, type VoxelArray } from '@mednext-ts/tensor3d/volume';
import { boxShape, padBox, unionBox, type Box } from './box.js';
import { matchLesions } from './lesion-wise.js';
import { groupByDilation, mergeEtThroughNetc, removeSmallLesions, type LesionMap } from './lesions.js';
import type { EvaluationProtocol } from './protocol.js';
import { getTask, type RegionName, type TaskName } from './tasks.js';
import { diceFromCounts, legacyHd95, regionCounts, sensSpecFromCounts } from './whole-region.js';

/** A label map: voxel labels in C order (`shape = [nx, ny, nz]`, last axis fastest). */
export interface LabelVolume {
  data: VoxelArray | ArrayLike<number>;
  shape: Shape3;
  /** Voxel size in mm (the prediction's is used, as in the official code). */
  spacing?: readonly [number, number, number];
}

/** Input of {@link evaluateCase}. */
export interface EvaluateCaseInput {
  gt: LabelVolume;
  pred: LabelVolume;
  /** The evaluation protocol, or the name of a BraTS preset (`ssa`, `ped`). */
  task: TaskName | EvaluationProtocol;
  /** Voxel spacing in mm; default: `pred.spacing`, else 1 mm. Rounded to float32 like NIfTI zooms. */
  spacing?: readonly [number, number, number];
  /** Case identifier used in error messages. */
  id?: string;
  /**
   * Treat label values the task does not define as background (what the official code does)
   * instead of throwing. Default false.
   */
  allowUnknownLabels?: boolean;
  /**
   * Fix the quirks of the official code that are bugs (default false = official numbers):
   * legacy HD95 and sensitivity/specificity on binary masks instead of lesion-number maps, the
   * prediction size filter in mm³ like the GT threshold, and a transitive SSA ET/NETC merge.
   */
  corrected?: boolean;
}

/** Per-region values; field names as in the official output. +Infinity is already replaced by the penalty. */
export interface RegionMetrics {
  Num_TP: number;
  Num_FP: number;
  Num_FN: number;
  Sensitivity: number;
  Specificity: number;
  Legacy_Dice: number;
  Legacy_HD95: number;
  /** |G > 0| in mm³. */
  GT_Complete_Volume: number;
  /** |P > 0| in mm³ of the filtered prediction (computed but not output by the official code). */
  Pred_Complete_Volume: number;
  LesionWise_Score_Dice: number;
  LesionWise_Score_HD95: number;
}

/** One row of the per-lesion table (names as in the fixtures' `expected.json`). */
export interface LesionRow {
  region: RegionName;
  gt_lesion_number: number;
  /** mm³. */
  gt_lesion_vol: number;
  matched_pred_components: number[];
  dice_lesionwise: number;
  /** mm; Infinity replaced by the protocol's penalty (374 for BraTS). */
  hd95_lesionwise: number;
  /** Whether the lesion enters the lesion-wise scores (volume > threshold). */
  counted_in_score: boolean;
}

/** Result of {@link evaluateCase}. */
export interface CaseMetrics {
  /** Name of the protocol. */
  task: string;
  /** Spacing actually used (float32-rounded). */
  spacing: [number, number, number];
  corrected: boolean;
  /** Regions in official order. */
  regionOrder: RegionName[];
  regions: Partial<Record<RegionName, RegionMetrics>>;
  lesions: LesionRow[];
}

function caseLabel(id: string | undefined): string {
  return id ? `case ${id}` : 'evaluateCase';
}

/** Per-label bounding boxes of a label map, gathered while validating its values. */
interface LabelScan {
  /** Box per label value 0..255 (null where absent; label 0 is not tracked). */
  boxes: Array<Box | null>;
}

/**
 * One pass over a label map: checks that every value is an integer the task defines (or any
 * integer 0..255 when unknown labels are allowed: they are background), and records the
 * bounding box of every label value.
 */
function scanLabels(
  data: ArrayLike<number>,
  shape: Shape3,
  task: EvaluationProtocol,
  what: string,
  allowUnknown: boolean,
  where: string,
): LabelScan {
  const known = new Uint8Array(256);
  for (const l of task.labels) known[l] = 1;
  const [nx, ny, nz] = shape;
  const lo = new Int32Array(256 * 3).fill(0x7fffffff);
  const hi = new Int32Array(256 * 3).fill(-1);
  for (let x = 0, i = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      for (let z = 0; z < nz; z++, i++) {
        const v = data[i];
        if (v === 0) continue;
        if (!(v > 0 && v < 256 && known[v] === 1)) {
          if (!Number.isInteger(v)) {
            throw new RangeError(`${where}: ${what} has a non-integer label value ${v} at voxel ${i}`);
          }
          if (!allowUnknown) {
            throw new RangeError(
              `${where}: ${what} has label ${v} at voxel ${i}, which task ${task.name} does not define (labels ${task.labels.join(', ')})`,
            );
          }
          if (v < 0 || v >= 256) continue; // background for every region
        }
        const o = v * 3;
        if (x < lo[o]) lo[o] = x;
        if (x > hi[o]) hi[o] = x;
        if (y < lo[o + 1]) lo[o + 1] = y;
        if (y > hi[o + 1]) hi[o + 1] = y;
        if (z < lo[o + 2]) lo[o + 2] = z;
        if (z > hi[o + 2]) hi[o + 2] = z;
      }
    }
  }
  const boxes: Array<Box | null> = [];
  for (let v = 0; v < 256; v++) {
    const o = v * 3;
    boxes.push(v === 0 || hi[o] < 0 ? null : [lo[o], lo[o + 1], lo[o + 2], hi[o] + 1, hi[o + 1] + 1, hi[o + 2] + 1]);
  }
  return { boxes };
}

/** Union of the boxes of the given labels in both scans, or null when none is present. */
function regionBox(scans: LabelScan[], labels: readonly number[]): Box | null {
  let box: Box | null = null;
  for (const s of scans) {
    for (const l of labels) {
      const b = s.boxes[l];
      if (b) box = box ? unionBox(box, b) : b;
    }
  }
  return box;
}

/** 0/1 mask of `labels` over box `b` of a full-size label map. */
function maskInBox(data: ArrayLike<number>, shape: Shape3, b: Box, labels: readonly number[]): Uint8Array {
  const lut = new Uint8Array(256);
  for (const l of labels) lut[l] = 1;
  const s = boxShape(b);
  const out = new Uint8Array(s[0] * s[1] * s[2]);
  const [, ny, nz] = shape;
  let k = 0;
  for (let x = b[0]; x < b[3]; x++) {
    for (let y = b[1]; y < b[4]; y++) {
      const row = (x * ny + y) * nz;
      for (let z = b[2]; z < b[5]; z++, k++) {
        const v = data[row + z];
        out[k] = v > 0 && v < 256 ? lut[v] : 0;
      }
    }
  }
  return out;
}

function sameSpacing(a: readonly number[], b: readonly number[]): boolean {
  return a.every((v, i) => Math.abs(v - b[i]) <= 1e-4 * Math.max(1, Math.abs(v)));
}

/** Replaces +Infinity by the penalty, as the official code does before output. */
function finite(v: number, penalty: number): number {
  return v === Infinity ? penalty : v;
}

/** Voxels of a lesion size on a grid of this spacing (a size in mm³ rounds down, as the corrected BraTS filter). */
function sizeInVoxels(size: EvaluationProtocol['minGtLesion'], spacing: readonly number[]): number {
  if (size.unit === 'voxels') return size.value;
  return Math.floor(size.value / (spacing[0] * spacing[1] * spacing[2]) + 1e-9);
}

/**
 * Evaluates one case with the lesion-wise metrics of protocol `task` (all of its regions).
 *
 * @throws RangeError naming the case on shape or spacing mismatch, non-integer labels, or (unless
 *   `allowUnknownLabels`) labels the task does not define.
 */
export function evaluateCase(input: EvaluateCaseInput): CaseMetrics {
  const task = typeof input.task === 'string' ? getTask(input.task) : input.task;
  const where = caseLabel(input.id);
  const { gt, pred } = input;
  const shape = pred.shape;
  if (gt.shape.length !== 3 || shape.length !== 3 || gt.shape.some((n, i) => n !== shape[i])) {
    throw new RangeError(
      `${where}: GT shape [${gt.shape.join(', ')}] differs from prediction shape [${shape.join(', ')}]`,
    );
  }
  const n = voxelCount(shape);
  if (gt.data.length !== n || pred.data.length !== n) {
    throw new RangeError(
      `${where}: shape [${shape.join(', ')}] needs ${n} voxels, GT has ${gt.data.length}, prediction ${pred.data.length}`,
    );
  }
  const rawSpacing = input.spacing ?? pred.spacing ?? [1, 1, 1];
  if (gt.spacing && pred.spacing && !input.spacing && !sameSpacing(gt.spacing, pred.spacing)) {
    throw new RangeError(
      `${where}: GT spacing [${gt.spacing.join(', ')}] differs from prediction spacing [${pred.spacing.join(', ')}]`,
    );
  }
  if (rawSpacing.length !== 3 || rawSpacing.some((s) => !(s > 0) || !Number.isFinite(s))) {
    throw new RangeError(`${where}: spacing must be three positive numbers, got [${rawSpacing.join(', ')}]`);
  }
  // The official code reads the zooms back from a NIfTI header: float32.
  const spacing: [number, number, number] = [
    Math.fround(rawSpacing[0]),
    Math.fround(rawSpacing[1]),
    Math.fround(rawSpacing[2]),
  ];
  const allowUnknown = input.allowUnknownLabels ?? false;
  const scans = [
    scanLabels(gt.data, shape, task, 'GT', allowUnknown, where),
    scanLabels(pred.data, shape, task, 'prediction', allowUnknown, where),
  ];
  const corrected = input.corrected ?? false;
  const bratsQuirks = task.quirks === 'brats-2024';
  // BraTS official: the prediction filter is a raw voxel count. Corrected: the GT threshold's mm³.
  const predFilter =
    corrected && bratsQuirks ? sizeInVoxels(task.minGtLesion, spacing) : sizeInVoxels(task.minPredLesion, spacing);
  // Protocols other than the BraTS presets never reproduce the official code's bugs.
  const fixQuirks = corrected || !bratsQuirks;
  // Default penalty: the diagonal of the field of view.
  const hd95Penalty =
    task.hd95Penalty ?? Math.hypot(shape[0] * spacing[0], shape[1] * spacing[1], shape[2] * spacing[2]);

  const ctx: RegionContext = {
    task,
    shape,
    spacing,
    scans,
    corrected: fixQuirks,
    predFilter,
    hd95Penalty,
    totalVoxels: n,
  };
  const regions: Partial<Record<RegionName, RegionMetrics>> = {};
  const lesions: LesionRow[] = [];
  for (const region of task.regions) {
    const r = evaluateRegion(ctx, gt.data, pred.data, region);
    regions[region] = r.metrics;
    lesions.push(...r.lesions);
  }
  return { task: task.name, spacing, corrected, regionOrder: [...task.regions], regions, lesions };
}

/** What {@link evaluateRegion} needs besides the label maps. */
interface RegionContext {
  task: EvaluationProtocol;
  shape: Shape3;
  spacing: [number, number, number];
  scans: LabelScan[];
  corrected: boolean;
  /** Prediction groups with at most this many voxels are removed. */
  predFilter: number;
  hd95Penalty: number;
  totalVoxels: number;
}

/** All values of one region: lesions, matching, lesion-wise scores and whole-region values. */
function evaluateRegion(
  ctx: RegionContext,
  gtData: ArrayLike<number>,
  predData: ArrayLike<number>,
  region: RegionName,
): { metrics: RegionMetrics; lesions: LesionRow[] } {
  const { task, shape, spacing, scans, corrected, predFilter, hd95Penalty } = ctx;
  const n = ctx.totalVoxels;
  const voxelVolume = (count: number) => count * spacing[0] * spacing[1] * spacing[2];
  const lesions: LesionRow[] = [];
  const members = task.regionLabels[region]!;
  // SSA ET lesions are merged through NETC lesions: their box must hold both.
  const via = task.mergeThrough?.region === region ? task.regionLabels[task.mergeThrough.via]! : null;
  const boxLabels = via ? [...members, ...via] : members;
  // Work inside the region's non-zero box grown by the dilation: no lesion, dilation or
  // surface reaches outside it, and cropping preserves the C-order lesion numbering.
  const nzBox = regionBox(scans, boxLabels);
  const crop: Box = nzBox ? padBox(nzBox, task.dilation + 1, shape) : [0, 0, 0, 1, 1, 1];
  const cs = boxShape(crop);
  const group = (data: ArrayLike<number>, labels: readonly number[], isPred: boolean): LesionMap => {
    const map = groupByDilation(maskInBox(data, shape, crop, labels), cs, task.dilation);
    if (isPred) removeSmallLesions(map, predFilter);
    return map;
  };
  const G = group(gtData, members, false);
  const P = group(predData, members, true);
  if (via) {
    mergeEtThroughNetc(G, group(gtData, via, false).labels, cs, corrected);
    mergeEtThroughNetc(P, group(predData, via, true).labels, cs, corrected);
  }
  const matching = matchLesions(G, P, cs, spacing, task.dilation);
  let sumDice = 0;
  let sumHd = 0;
  let counted = 0;
  let tp = 0;
  let fn = 0;
  for (const m of matching.lesions) {
    const vol = voxelVolume(m.voxels);
    const isCounted =
      task.minGtLesion.unit === 'mm3' ? vol > task.minGtLesion.value : m.voxels > task.minGtLesion.value;
    const hd = finite(m.hd95, hd95Penalty);
    if (isCounted) {
      counted++;
      sumDice += m.dice;
      sumHd += hd;
      if (m.matched.length > 0) tp++;
      else fn++;
    }
    lesions.push({
      region,
      gt_lesion_number: m.gtLesion,
      gt_lesion_vol: vol,
      matched_pred_components: m.matched,
      dice_lesionwise: m.dice,
      hd95_lesionwise: hd,
      counted_in_score: isCounted,
    });
  }
  const numFp = matching.falsePositives.length;
  const denom = counted + numFp;
  const counts = regionCounts(G.labels, P.labels);
  const { sensitivity, specificity } = sensSpecFromCounts(counts, n, corrected);
  const metrics: RegionMetrics = {
    Num_TP: tp,
    Num_FP: numFp,
    Num_FN: fn,
    Sensitivity: sensitivity,
    Specificity: specificity,
    Legacy_Dice: diceFromCounts(counts),
    Legacy_HD95: finite(legacyHd95(G.labels, P.labels, cs, spacing, corrected), hd95Penalty),
    GT_Complete_Volume: voxelVolume(counts.gt),
    Pred_Complete_Volume: voxelVolume(counts.pred),
    // No counted lesion and no false positive: a perfect score (official NaN -> 1 / 0).
    LesionWise_Score_Dice: denom === 0 ? 1 : sumDice / denom,
    LesionWise_Score_HD95: denom === 0 ? 0 : (sumHd + hd95Penalty * numFp) / denom,
  };
  return { metrics, lesions };
}
