/**
 * The task plugin API: what a task plugin tells mednext about a segmentation task.
 *
 * A *task* fixes the label convention of the data, the regions a model predicts (sigmoid
 * outputs, one channel each, in the order listed), how they are post-processed, and the
 * default training recipe. Plugins export an array of tasks made with {@link defineTask}.
 */
import type { TaskEvaluation } from './evaluation.js';
import { validateTask } from './validate.js';
import { MedNeXtError } from '../errors.js';
import type { InputNaming } from './naming.js';
import type { NormalizationSpec } from './normalization.js';
import type { PostprocessStepSpec } from './postprocess-steps.js';

/** A label value of the ground-truth maps. */
export interface LabelDefinition {
  /** Integer value in the label map (0 is background and is never listed). */
  value: number;
  /** Short name, e.g. `ET`. */
  name: string;
  /** Human-readable tissue name, e.g. `enhancing tumour`. */
  description: string;
}

/** A region: a union of labels, predicted as one sigmoid channel. */
export interface RegionDefinition {
  /** Short name, e.g. `WT`. */
  name: string;
  /** Label values whose union forms the region. */
  labels: number[];
  /** Default probability threshold for binarisation. */
  threshold: number;
  /** Default minimum connected-component size in voxels (26-connectivity); 0 keeps all. */
  minSize: number;
  /**
   * Further postprocessing steps after threshold and minimum size, in order, by name from the
   * postprocessing-step registry (built in: `keep-largest`, `fill-holes`).
   */
  postprocess?: PostprocessStepSpec[];
  /**
   * Default minimum mean probability of a kept component; 0 keeps all. Only pipelines with a
   * component rule use it (the `seed-paper` pipeline); others reject a non-zero value.
   */
  minMeanProbability?: number;
  /** Default maximum number of kept components (largest first); absent = no limit. Same pipelines as above. */
  maxComponents?: number;
}

/** Postprocessing values of one region in a preset or a `--postprocess` file. */
export interface RegionPostprocessValues {
  threshold?: number;
  minSize?: number;
  minMeanProbability?: number;
  /** `null` = no limit. */
  maxComponents?: number | null;
}

/** A named set of postprocessing values (`predict --postprocess NAME`). */
export interface PostprocessPreset {
  /** Where the values come from, shown by `mednext tasks`. */
  description: string;
  regions: Record<string, RegionPostprocessValues>;
}

/** The default training recipe of a task (the seed paper's settings unless stated). */
export interface TrainingRecipe {
  /** MedNeXt preset. */
  preset: 'S' | 'B' | 'M' | 'L';
  /** Depthwise kernel size. */
  kernelSize: 3 | 5 | 7;
  /** Patch size (D, H, W) in voxels of the preprocessed volume. */
  patchSize: [number, number, number];
  batchSize: number;
  epochs: number;
  iterationsPerEpoch: number;
  /** Schedule-Free AdamW learning rate. */
  learningRate: number;
  weightDecay: number;
  /**
   * Loss by name from the loss registry: built in `dice-focal` (batch Dice + focal, gamma 2, as
   * the seed paper) and `dice-bce` (as nnU-Net); plugins add more with `registerLoss`.
   */
  loss: string;
  folds: number;
  /** Fine-tuning stage, if the recipe has one (SSA: last decoder layers on SSA data). */
  finetune?: { trainLast: number; reinit: boolean };
}

/** Everything mednext needs to know about one task. */
export interface TaskDefinition {
  /** Identifier used on the command line (`--task ssa`). */
  id: string;
  /** One line shown by `mednext tasks`. */
  description: string;
  /** Label values of the ground truth, without background. */
  labels: LabelDefinition[];
  /** Regions the model predicts, in channel order. */
  regions: RegionDefinition[];
  /** Input modalities in channel order (BraTS file suffixes, e.g. `t1n`). */
  modalities: string[];
  /**
   * Order in which binarised regions are written back to labels: each later region overwrites
   * the earlier ones, with the label given (e.g. WT→2, TC→1, ET→3 for adult-glioma labels).
   */
  regionsToLabels: { region: string; label: number }[];
  /** Default training recipe. */
  training: TrainingRecipe;
  /**
   * Name of a case pipeline that replaces the project's own preprocessing, sliding window and
   * postprocessing (e.g. `seed-paper`, which reproduces the seed paper's code); default the project's.
   */
  pipeline?: string;
  /** Sliding-window size for checkpoints that record none (e.g. a PyTorch `.ckpt`). */
  windowSize?: [number, number, number];
  /** Named postprocessing settings, selectable with `predict --postprocess NAME`. */
  postprocessPresets?: Record<string, PostprocessPreset>;
  /** Named rewrites of the written label values, selectable with `predict --label-mapping NAME`. */
  labelMappings?: Record<string, Record<number, number>>;
  /**
   * How predictions are scored (`mednext evaluate`, `tune-postprocess`, the demo): a BraTS 2024
   * preset, or lesion-wise / region-wise Dice and HD95 over this task's regions. Default:
   * lesion-wise over the regions, lesions = 26-connected components, every lesion counted.
   */
  evaluation?: TaskEvaluation;
  /**
   * Intensity normalisation per modality (by modality name), or one for all, by method name from
   * the normalisation registry. Default `zscore-nonzero` for every modality. Recorded in the
   * checkpoint, so prediction repeats what training did.
   */
  normalization?: NormalizationSpec | Record<string, NormalizationSpec>;
  /** File names of a case's images and label map. Default the BraTS pattern `{id}-{modality}.nii.gz`. */
  inputNaming?: InputNaming;
}

/**
 * Thrown when a task definition is inconsistent; the message names the task and the field. A
 * {@link MedNeXtError} with code `TASK_INVALID`, so `isMedNeXtError(e, 'TASK_INVALID')` catches it.
 */
export class TaskDefinitionError extends MedNeXtError {
  /** Path of the offending field, e.g. `training.patchSize`. */
  readonly field: string;
  constructor(taskId: string, field: string, problem: string) {
    super('TASK_INVALID', `task '${taskId}': ${field}: ${problem}`);
    Object.defineProperty(this, 'name', { value: 'TaskDefinitionError' });
    this.field = field;
  }
}

/**
 * Checks a task definition and returns it unchanged (typed). Catches the mistakes that would
 * otherwise surface deep inside preprocessing, training or evaluation: unknown labels in a
 * region, duplicate names, thresholds outside (0, 1), a training patch that is not a multiple
 * of 16, unknown loss, normalisation, postprocessing or evaluation names, a file-name pattern
 * without `{id}`.
 *
 * @throws TaskDefinitionError naming the task and the field, e.g.
 *   `task 'liver': training.patchSize: must be three positive multiples of 16, got [100, 64, 64]`.
 * @example
 * ```ts
 * export const tasks = [defineTask({ id: 'liver', ... })];
 * ```
 */
export function defineTask(task: TaskDefinition): TaskDefinition {
  const id = typeof task?.id === 'string' && task.id ? task.id : '(no id)';
  const fail = (field: string, problem: string): never => {
    throw new TaskDefinitionError(id, field, problem);
  };
  validateTask(task, fail);
  return task;
}
