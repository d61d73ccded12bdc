/**
 * How a task is evaluated: declared as data in the task, turned into an evaluation protocol of
 * `@mednext-ts/metrics` by `taskEvaluationProtocol` (in `@mednext-ts/mednext`).
 */

/** A lesion size: lesions of at most this size are affected. */
export interface LesionSizeSpec {
  value: number;
  unit: 'voxels' | 'mm3';
}

/** Names of the BraTS 2024 presets (official numbers). */
export const EVALUATION_PRESETS = ['brats-2024-ssa', 'brats-2024-ped'] as const;

/** A BraTS 2024 preset: the official lesion-wise evaluation of that challenge, over its own regions. */
export interface PresetEvaluation {
  preset: (typeof EVALUATION_PRESETS)[number];
}

/**
 * Dice and HD95 over the task's own regions (as defined in `regions`), lesion-wise (lesions
 * matched by overlap of their dilated masks) or region-wise (whole-region values).
 */
export interface RegionEvaluation {
  /** What the single summary score (tuning, demo) averages. Default `lesion-wise`. */
  score?: 'lesion-wise' | 'region-wise';
  /** Dilation steps (18-neighbourhood) that group components into lesions and match them. Default 0. */
  dilation?: number;
  /** GT lesions of at most this size are not counted. Default 0 voxels. */
  minLesionSize?: LesionSizeSpec;
  /** Predicted lesions of at most this size are removed before matching. Default 0 voxels. */
  minPredictionSize?: LesionSizeSpec;
  /** HD95 (mm) of missed and false-positive lesions. Default the case's field-of-view diagonal. */
  hd95Penalty?: number;
}

/** A task's evaluation. */
export type TaskEvaluation = PresetEvaluation | RegionEvaluation;

/** Label values each preset defines (besides background): a task using a preset must stay within them. */
export const PRESET_LABELS: Readonly<Record<PresetEvaluation['preset'], readonly number[]>> = {
  'brats-2024-ssa': [1, 2, 3],
  'brats-2024-ped': [1, 2, 3, 4],
};
