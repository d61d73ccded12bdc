/**
 * A task's evaluation as an evaluation protocol of `@mednext-ts/metrics`, and a case scorer
 * for postprocessing tuning built on it.
 */
import {
  BRATS_2024_PROTOCOLS,
  evaluateCase,
  protocolScore,
  regionProtocol,
  type EvaluationProtocol,
} from '@mednext-ts/metrics';
import type { CaseScorer } from '../postprocess/tune.js';
import type { TaskDefinition } from '../tasks/task.js';
import { MedNeXtError } from '../errors.js';

/**
 * The protocol `task.evaluation` declares: a BraTS 2024 preset (official numbers), or Dice and
 * HD95 over the task's own regions with its lesion-matching parameters. A task without an
 * `evaluation` field is scored lesion-wise over its regions, lesions being 26-connected
 * components, every lesion counted.
 *
 * @example
 * ```ts
 * const protocol = taskEvaluationProtocol(registry.get('liver'));
 * const metrics = evaluateCase({ gt, pred, task: protocol });
 * ```
 */
export function taskEvaluationProtocol(task: TaskDefinition): EvaluationProtocol {
  const evaluation = task.evaluation ?? {};
  if ('preset' in evaluation) {
    const preset = BRATS_2024_PROTOCOLS[evaluation.preset];
    if (!preset)
      throw new MedNeXtError(
        'TASK_INVALID',
        `task '${task.id}': evaluation.preset: unknown preset '${evaluation.preset}'`,
      );
    return preset;
  }
  return regionProtocol({
    name: task.id,
    title: task.description,
    labels: task.labels.map((l) => l.value),
    regions: task.regions.map((r) => ({ name: r.name, labels: r.labels })),
    dilation: evaluation.dilation ?? 0,
    minGtLesion: evaluation.minLesionSize ?? { value: 0, unit: 'voxels' },
    minPredLesion: evaluation.minPredictionSize ?? { value: 0, unit: 'voxels' },
    ...(evaluation.hd95Penalty !== undefined ? { hd95Penalty: evaluation.hd95Penalty } : {}),
    score: evaluation.score ?? 'lesion-wise',
  });
}

/** One line naming a protocol and its score, e.g. `BraTS-SSA lesion-wise` or `liver region-wise`. */
export function describeProtocol(protocol: EvaluationProtocol): string {
  return `${protocol.title && protocol.title.length <= 24 ? protocol.title : protocol.name} ${protocol.score ?? 'lesion-wise'}`;
}

/** Field-of-view diagonal in mm, with the float32 spacing evaluation uses. */
function fovDiagonal(shape: readonly number[], spacing: readonly number[]): number {
  return Math.hypot(
    shape[0]! * Math.fround(spacing[0]!),
    shape[1]! * Math.fround(spacing[1]!),
    shape[2]! * Math.fround(spacing[2]!),
  );
}

/**
 * A {@link CaseScorer} with a task's protocol: the mean over the protocol's regions of the Dice
 * and HD95 its score kind selects (lesion-wise for the BraTS presets).
 */
export function taskCaseScorer(task: TaskDefinition): CaseScorer {
  const protocol = taskEvaluationProtocol(task);
  return (prediction, c, shape) => {
    // The default penalty is the whole case's field-of-view diagonal, not the crop's.
    const full = c.fullShape;
    const s = c.spacing ?? [1, 1, 1];
    const scored =
      protocol.hd95Penalty === undefined && full ? { ...protocol, hd95Penalty: fovDiagonal(full, s) } : protocol;
    return protocolScore(
      evaluateCase({
        gt: { data: c.labels, shape },
        pred: { data: prediction, shape, spacing: c.spacing },
        task: scored,
        id: c.id,
      }),
      protocol.score,
    );
  };
}
