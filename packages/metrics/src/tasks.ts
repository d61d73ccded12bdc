/**
 * The BraTS 2024 evaluation protocols: label conventions, evaluated regions and the parameters of
 * the official lesion-wise evaluation (spec `brats-metrics.md` §2–§3), as presets of
 * {@link EvaluationProtocol}.
 */
import { defineEvaluationProtocol, type EvaluationProtocol } from './protocol.js';

/** Names of the BraTS presets. `ssa`: adult-glioma labels (BraTS-SSA); `ped`: 2024 paediatric labels (BraTS-PED). */
export type TaskName = 'ssa' | 'ped';

/** Regions reported for SSA, in the official row order. */
export const SSA_REGIONS = ['WT', 'TC', 'ET'] as const;
/** Regions reported for PED, in the official row order. */
export const PED_REGIONS = ['WT', 'TC', 'ET', 'NETC', 'CC', 'ED'] as const;

/** A BraTS region name. */
export type BratsRegionName = (typeof PED_REGIONS)[number];

/** A reported region name (a BraTS region, or any region of a task's own protocol). */
export type RegionName = string;

/**
 * A BraTS preset: an {@link EvaluationProtocol} whose quirks are those of the official code
 * (legacy HD95 and sensitivity/specificity on lesion-number maps; see `corrected`).
 */
export interface BratsProtocol extends EvaluationProtocol {
  title: string;
  quirks: 'brats-2024';
}

/** @deprecated the metrics speak of evaluation protocols; use {@link EvaluationProtocol}. */
export type TaskDefinition = EvaluationProtocol;

/** BraTS 2024 Sub-Saharan Africa (adult-glioma labels 1 NETC, 2 SNFH, 3 ET). */
export const BRATS_2024_SSA: BratsProtocol = defineEvaluationProtocol({
  name: 'ssa',
  title: 'BraTS-SSA',
  labels: [0, 1, 2, 3],
  regions: SSA_REGIONS,
  // NETC is used only for the ET merge rule.
  regionLabels: { WT: [1, 2, 3], TC: [1, 3], ET: [3], NETC: [1] },
  dilation: 3,
  minGtLesion: { value: 50, unit: 'mm3' },
  // Official: the prediction filter is a raw voxel count, not mm³.
  minPredLesion: { value: 50, unit: 'voxels' },
  hd95Penalty: 374,
  mergeThrough: { region: 'ET', via: 'NETC' },
  score: 'lesion-wise',
  quirks: 'brats-2024',
});

/** BraTS 2024 Pediatric (labels 1 ET, 2 NET/NETC, 3 CC, 4 ED). */
export const BRATS_2024_PED: BratsProtocol = defineEvaluationProtocol({
  name: 'ped',
  title: 'BraTS-PED',
  labels: [0, 1, 2, 3, 4],
  regions: PED_REGIONS,
  regionLabels: { WT: [1, 2, 3, 4], TC: [1, 2, 3], ET: [1], NETC: [2], CC: [3], ED: [4] },
  dilation: 5,
  minGtLesion: { value: 10, unit: 'mm3' },
  minPredLesion: { value: 10, unit: 'voxels' },
  hd95Penalty: 374,
  score: 'lesion-wise',
  quirks: 'brats-2024',
});

/** The BraTS presets keyed by their short names. */
export const TASKS: Readonly<Record<TaskName, BratsProtocol>> = { ssa: BRATS_2024_SSA, ped: BRATS_2024_PED };

/** The BraTS presets keyed by the names a task uses to declare them. */
export const BRATS_2024_PROTOCOLS: Readonly<Record<string, BratsProtocol>> = {
  'brats-2024-ssa': BRATS_2024_SSA,
  'brats-2024-ped': BRATS_2024_PED,
};

/**
 * Looks up a BraTS preset by name: `ssa`/`ped`, `BraTS-SSA`/`BraTS-PED` or
 * `brats-2024-ssa`/`brats-2024-ped` (case-insensitive); throws on unknown names.
 */
export function getTask(name: string): BratsProtocol {
  const key = name.toLowerCase().replace(/^brats-(2024-)?/, '');
  if (key !== 'ssa' && key !== 'ped')
    throw new RangeError(
      `unknown BraTS protocol "${name}": expected one of ${Object.keys(BRATS_2024_PROTOCOLS).join(', ')}`,
    );
  return TASKS[key];
}

/** {@link getTask} under the name the metrics use. */
export const getBratsProtocol = getTask;
