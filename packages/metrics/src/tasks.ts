/**
 * BraTS 2024 task definitions: label conventions, evaluated regions and the parameters of the
 * official lesion-wise evaluation (spec `brats-metrics.md` §2–§3).
 */

/** Tasks supported by the evaluator. `ssa`: adult-glioma labels (BraTS-SSA); `ped`: 2024 paediatric labels (BraTS-PED). */
export type TaskName = 'ssa' | 'ped';

/** Regions reported for SSA, in the official row order. */
export const SSA_REGIONS = ['WT', 'TC', 'ET'] as const;
/** Regions reported for PED, in the official row order. */
export const PED_REGIONS = ['WT', 'TC', 'ET', 'NETC', 'CC', 'ED'] as const;

/** Any reported region name. */
export type RegionName = (typeof PED_REGIONS)[number];

/** Parameters and conventions of one task. */
export interface TaskDefinition {
  name: TaskName;
  /** Official challenge label ("BraTS-SSA" / "BraTS-PED"). */
  challenge: string;
  /** Label values with a meaning in this task (0 = background). */
  labels: readonly number[];
  /** Reported regions in official order. */
  regions: readonly RegionName[];
  /** Label values making up each region (including the internal SSA `NETC` region). */
  regionLabels: Readonly<Partial<Record<RegionName, readonly number[]>>>;
  /** Dilation iterations (18-neighbourhood) for grouping and matching. */
  dilation: number;
  /** GT lesions with volume (mm³) <= this are not counted. */
  gtVolumeThresholdMm3: number;
  /** Prediction groups with this many voxels or fewer are removed (official: a voxel count, not mm³). */
  predFilterVoxels: number;
  /** Penalty (mm) for false-positive groups and for missed lesions' HD95. */
  hd95Penalty: number;
}

/** The two task definitions, keyed by task name. */
export const TASKS: Readonly<Record<TaskName, TaskDefinition>> = {
  ssa: {
    name: 'ssa',
    challenge: 'BraTS-SSA',
    labels: [0, 1, 2, 3],
    regions: SSA_REGIONS,
    // 1 = NETC, 2 = SNFH (edema), 3 = ET. NETC is used only for the ET merge rule.
    regionLabels: { WT: [1, 2, 3], TC: [1, 3], ET: [3], NETC: [1] },
    dilation: 3,
    gtVolumeThresholdMm3: 50,
    predFilterVoxels: 50,
    hd95Penalty: 374,
  },
  ped: {
    name: 'ped',
    challenge: 'BraTS-PED',
    labels: [0, 1, 2, 3, 4],
    regions: PED_REGIONS,
    // 1 = ET, 2 = NET/NETC, 3 = CC (cyst), 4 = ED (edema).
    regionLabels: { WT: [1, 2, 3, 4], TC: [1, 2, 3], ET: [1], NETC: [2], CC: [3], ED: [4] },
    dilation: 5,
    gtVolumeThresholdMm3: 10,
    predFilterVoxels: 10,
    hd95Penalty: 374,
  },
};

/** Looks up a task by name (case-insensitive, also accepts "BraTS-SSA"/"BraTS-PED"); throws on unknown names. */
export function getTask(name: string): TaskDefinition {
  const key = name.toLowerCase().replace(/^brats-/, '');
  if (key !== 'ssa' && key !== 'ped') throw new RangeError(`unknown task "${name}": expected "ssa" or "ped"`);
  return TASKS[key];
}
