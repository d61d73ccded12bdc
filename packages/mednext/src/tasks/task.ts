/**
 * The task plugin API: what a task plugin tells mednext about a segmentation task.
 *
 * A *task* fixes the label convention of the data, the regions a model predicts (sigmoid
 * outputs, one channel each, in the order listed), how they are post-processed, and the
 * default training recipe. Plugins export an array of tasks made with {@link defineTask}.
 */

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
  /** `dice-focal`: batch Dice + focal (gamma 2), as the seed paper; `dice-bce`: as nnU-Net. */
  loss: 'dice-focal' | 'dice-bce';
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
}

/** Thrown when a task definition is inconsistent. */
export class TaskDefinitionError extends Error {
  constructor(taskId: string, problem: string) {
    super(`task '${taskId}': ${problem}`);
    this.name = 'TaskDefinitionError';
  }
}

/**
 * Checks a task definition and returns it unchanged (typed). Catches the mistakes that would
 * otherwise surface deep inside training: unknown labels in a region, duplicate names,
 * thresholds outside (0, 1), a label mapping that names an unknown region.
 */
export function defineTask(task: TaskDefinition): TaskDefinition {
  const fail = (problem: string): never => {
    throw new TaskDefinitionError(task.id || '(no id)', problem);
  };
  if (!/^[a-z][a-z0-9-]*$/.test(task.id)) fail('id must be lower-case letters, digits and dashes');
  const labelValues = new Set<number>();
  for (const label of task.labels) {
    if (!Number.isInteger(label.value) || label.value <= 0)
      fail(`label ${label.name} has a non-positive or non-integer value`);
    if (labelValues.has(label.value)) fail(`label value ${label.value} is listed twice`);
    labelValues.add(label.value);
  }
  if (task.regions.length === 0) fail('no regions');
  const regionNames = new Set<string>();
  for (const region of task.regions) {
    if (regionNames.has(region.name)) fail(`region ${region.name} is listed twice`);
    regionNames.add(region.name);
    if (region.labels.length === 0) fail(`region ${region.name} has no labels`);
    for (const v of region.labels) if (!labelValues.has(v)) fail(`region ${region.name} uses unknown label ${v}`);
    if (!(region.threshold > 0 && region.threshold < 1)) fail(`region ${region.name} threshold must be in (0, 1)`);
    if (!Number.isInteger(region.minSize) || region.minSize < 0)
      fail(`region ${region.name} minSize must be a non-negative integer`);
    const p = region.minMeanProbability;
    if (p !== undefined && !(p >= 0 && p < 1)) fail(`region ${region.name} minMeanProbability must be in [0, 1)`);
    const k = region.maxComponents;
    if (k !== undefined && !(Number.isInteger(k) && k > 0) && k !== Number.POSITIVE_INFINITY)
      fail(`region ${region.name} maxComponents must be a positive integer`);
  }
  for (const name of Object.keys(task.postprocessPresets ?? {})) {
    for (const r of Object.keys(task.postprocessPresets![name]!.regions))
      if (!regionNames.has(r)) fail(`postprocessing preset ${name} names unknown region ${r}`);
  }
  for (const { region, label } of task.regionsToLabels) {
    if (!regionNames.has(region)) fail(`regionsToLabels names unknown region ${region}`);
    if (!labelValues.has(label)) fail(`regionsToLabels writes unknown label ${label}`);
  }
  if (task.modalities.length === 0) fail('no modalities');
  return task;
}
