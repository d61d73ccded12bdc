/**
 * Case pipelines a task can name (`TaskDefinition.pipeline`) to replace the project's own
 * preprocessing, inference and postprocessing: name -> implementation.
 */
import type { ChannelVolume } from '@mednext-ts/tensor3d';
import type { TaskDefinition } from '../tasks/index.js';
import { probabilitiesToLabels, type RegionPostprocess } from '../postprocess/index.js';
import type { InferenceModel } from './predictor.js';
import type { CaseSegmentation, InferenceOptions, RawImage } from './pipeline.js';
import { seedLabelsFromProbabilities, segmentCaseSeedPaper } from '../seed-paper/pipeline.js';
import { MedNeXtError } from '../errors.js';

/** A whole-case pipeline: raw modalities in, label map and probabilities on the input grid out. */
export type CasePipeline = (
  raw: RawImage,
  task: TaskDefinition,
  models: readonly InferenceModel[],
  settings: readonly RegionPostprocess[],
  options: InferenceOptions,
) => Promise<CaseSegmentation>;

/** A pipeline's postprocessing alone: averaged probabilities `[regions, ...]` to a label map (for `mednext ensemble`). */
export type PipelineLabels = (
  probabilities: ChannelVolume,
  task: TaskDefinition,
  settings: readonly RegionPostprocess[],
  labelMapping?: Record<number, number>,
) => Uint8Array;

/** The registered pipelines. `seed-paper`: the seed paper's code path (see `seed-paper/`). */
export const CASE_PIPELINES: Readonly<Record<string, { segment: CasePipeline; labels: PipelineLabels }>> = {
  'seed-paper': { segment: segmentCaseSeedPaper, labels: seedLabelsFromProbabilities },
};

function lookup(name: string, taskId: string): { segment: CasePipeline; labels: PipelineLabels } {
  const pipeline = CASE_PIPELINES[name];
  if (!pipeline) {
    throw new MedNeXtError(
      'TASK_INVALID',
      `task '${taskId}' names case pipeline '${name}', which does not exist (known: ${Object.keys(CASE_PIPELINES).join(', ')})`,
    );
  }
  return pipeline;
}

/**
 * Labels from probabilities with the task's own postprocessing: its pipeline's when it names one, else the
 * project's thresholds and minimum sizes.
 */
export function labelsForTask(
  probabilities: ChannelVolume,
  task: TaskDefinition,
  settings: readonly RegionPostprocess[],
  labelMapping?: Record<number, number>,
): Uint8Array {
  if (task.pipeline) return lookup(task.pipeline, task.id).labels(probabilities, task, settings, labelMapping);
  if (labelMapping)
    throw new MedNeXtError(
      'TASK_MISMATCH',
      `task '${task.id}': label mappings need a task pipeline that supports them`,
    );
  return probabilitiesToLabels(probabilities, task, settings);
}

/**
 * The pipeline a task names.
 * @throws for an unknown name, listing the known ones
 */
export function casePipeline(name: string, taskId: string): CasePipeline {
  return lookup(name, taskId).segment;
}
