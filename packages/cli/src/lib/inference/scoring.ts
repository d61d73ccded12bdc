/**
 * Lesion-wise BraTS scoring of predicted label maps with @mednext-ts/metrics.
 */
import { evaluateCase, type CaseMetrics, type TaskName } from '@mednext-ts/metrics';
import { metricsTaskFor, type CaseScorer } from '@mednext-ts/mednext';

export { metricsTaskFor };

/** Mean over the protocol's regions of the lesion-wise Dice and HD95 of one case. */
export function meanLesionWise(metrics: CaseMetrics): { dice: number; hd95: number } {
  let dice = 0;
  let hd95 = 0;
  for (const r of metrics.regionOrder) {
    dice += metrics.regions[r]!.LesionWise_Score_Dice;
    hd95 += metrics.regions[r]!.LesionWise_Score_HD95;
  }
  return { dice: dice / metrics.regionOrder.length, hd95: hd95 / metrics.regionOrder.length };
}

/** A {@link CaseScorer} using the official lesion-wise metrics (mean over the protocol's regions). */
export function lesionWiseScorer(protocol: TaskName): CaseScorer {
  return (prediction, c, shape) =>
    meanLesionWise(
      evaluateCase({
        gt: { data: c.labels, shape },
        pred: { data: prediction, shape, spacing: c.spacing },
        task: protocol,
        id: c.id,
      }),
    );
}
