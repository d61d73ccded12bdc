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
  }
  for (const { region, label } of task.regionsToLabels) {
    if (!regionNames.has(region)) fail(`regionsToLabels names unknown region ${region}`);
    if (!labelValues.has(label)) fail(`regionsToLabels writes unknown label ${label}`);
  }
  if (task.modalities.length === 0) fail('no modalities');
  return task;
}
