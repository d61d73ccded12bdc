/**
 * Case pipelines a task can name (`TaskDefinition.pipeline`) to replace the project's own
 * preprocessing, inference and postprocessing: name -> implementation.
 */
import type { TaskDefinition } from '../tasks/index.js';
import type { RegionPostprocess } from '../postprocess/index.js';
import type { InferenceModel } from './predictor.js';
import type { CaseSegmentation, InferenceOptions, RawImage } from './pipeline.js';
import { segmentCaseSeedPaper } from '../seed-paper/pipeline.js';

/** A whole-case pipeline: raw modalities in, label map and probabilities on the input grid out. */
export type CasePipeline = (
  raw: RawImage,
  task: TaskDefinition,
  models: readonly InferenceModel[],
  settings: readonly RegionPostprocess[],
  options: InferenceOptions,
) => Promise<CaseSegmentation>;

/** The registered pipelines. `seed-paper`: the seed paper's code path (see `seed-paper/`). */
export const CASE_PIPELINES: Readonly<Record<string, CasePipeline>> = {
  'seed-paper': segmentCaseSeedPaper,
};

/**
 * The pipeline a task names.
 * @throws for an unknown name, listing the known ones
 */
export function casePipeline(name: string, taskId: string): CasePipeline {
  const pipeline = CASE_PIPELINES[name];
  if (!pipeline) {
    throw new Error(
      `task '${taskId}' names case pipeline '${name}', which does not exist (known: ${Object.keys(CASE_PIPELINES).join(', ')})`,
    );
  }
  return pipeline;
}
