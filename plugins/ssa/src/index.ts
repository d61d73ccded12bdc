/**
 * @mednext-ts/plugin-ssa: the BraTS-2024 Sub-Saharan Africa task.
 *
 * Adult-glioma label convention (BraTS 2023/2024): 1 NETC, 2 SNFH (edema), 3 ET.
 * The model predicts the nested regions WT, TC, ET; defaults follow the seed paper's best SSA
 * submission (thresholds 0.5 WT, 0.7 TC, 0.7 ET; trained on adult glioma + SSA, then the last
 * decoder layers fine-tuned on SSA alone).
 */
import { defineTask, type TaskDefinition } from '@mednext-ts/mednext/tasks';
import { makeSsaPaperTask } from './paper.js';

/** Task `ssa`. */
export const ssaTask: TaskDefinition = defineTask({
  id: 'ssa',
  description: 'BraTS-2024 Sub-Saharan Africa glioma (labels 1 NETC, 2 SNFH, 3 ET; regions WT, TC, ET)',
  labels: [
    { value: 1, name: 'NETC', description: 'non-enhancing tumour core' },
    { value: 2, name: 'SNFH', description: 'surrounding non-enhancing FLAIR hyperintensity (edema)' },
    { value: 3, name: 'ET', description: 'enhancing tumour' },
  ],
  regions: [
    { name: 'WT', labels: [1, 2, 3], threshold: 0.5, minSize: 0 },
    { name: 'TC', labels: [1, 3], threshold: 0.7, minSize: 0 },
    { name: 'ET', labels: [3], threshold: 0.7, minSize: 0 },
  ],
  modalities: ['t1n', 't1c', 't2w', 't2f'],
  regionsToLabels: [
    { region: 'WT', label: 2 },
    { region: 'TC', label: 1 },
    { region: 'ET', label: 3 },
  ],
  training: {
    preset: 'B',
    kernelSize: 3,
    patchSize: [128, 160, 112],
    batchSize: 2,
    epochs: 150,
    iterationsPerEpoch: 250,
    learningRate: 0.0027,
    weightDecay: 0,
    loss: 'dice-focal',
    folds: 5,
    finetune: { trainLast: 10, reinit: true },
  },
  // Scored with the official BraTS 2024 SSA evaluation (regions WT, TC, ET; ET merged through NETC).
  evaluation: { preset: 'brats-2024-ssa' },
});

/** Task `ssa-paper`: the seed paper's released models run with its code's conventions (see paper.ts). */
export const ssaPaperTask: TaskDefinition = makeSsaPaperTask(ssaTask);

/** The tasks this plugin registers. */
export const tasks: TaskDefinition[] = [ssaTask, ssaPaperTask];
