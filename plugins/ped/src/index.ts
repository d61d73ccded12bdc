/**
 * @mednext-ts/plugin-ped: the BraTS-2024 Pediatric tumour tasks.
 *
 * 2024 pediatric labels: 1 ET, 2 NETC, 3 CC (cystic component), 4 ED (edema).
 * - `ped`: the seed paper's model, three regions ET, TC, WT. NETC and CC cannot be separated
 *   by it (both become NETC when regions are turned back into labels).
 * - `ped4`: a four-region model (ET, TC, WT, CC) so that every 2024 label is predicted.
 * Minimum component sizes 50/75/250 voxels (ET/TC/WT) were the paper's best.
 */
import { defineTask, type LabelDefinition, type TaskDefinition, type TrainingRecipe } from '@mednext-ts/mednext/tasks';
import { makePedPaperTask } from './paper.js';

const labels: LabelDefinition[] = [
  { value: 1, name: 'ET', description: 'enhancing tumour' },
  { value: 2, name: 'NETC', description: 'non-enhancing tumour core' },
  { value: 3, name: 'CC', description: 'cystic component' },
  { value: 4, name: 'ED', description: 'peritumoural edema' },
];

const training: TrainingRecipe = {
  preset: 'B',
  kernelSize: 3,
  patchSize: [128, 160, 112],
  batchSize: 2,
  epochs: 75,
  iterationsPerEpoch: 250,
  learningRate: 0.0005,
  weightDecay: 0,
  loss: 'dice-focal',
  folds: 5,
};

/** Task `ped`: three regions, as the seed paper. */
export const pedTask: TaskDefinition = defineTask({
  id: 'ped',
  description: 'BraTS-2024 Pediatric tumours, 3-region model (ET, TC, WT; labels 1 ET, 2 NETC, 3 CC, 4 ED)',
  labels,
  regions: [
    { name: 'ET', labels: [1], threshold: 0.5, minSize: 50 },
    { name: 'TC', labels: [1, 2, 3], threshold: 0.5, minSize: 75 },
    { name: 'WT', labels: [1, 2, 3, 4], threshold: 0.5, minSize: 250 },
  ],
  modalities: ['t1n', 't1c', 't2w', 't2f'],
  regionsToLabels: [
    { region: 'WT', label: 4 },
    { region: 'TC', label: 2 },
    { region: 'ET', label: 1 },
  ],
  training,
  evaluation: { preset: 'brats-2024-ped' },
});

/** Task `ped4`: four regions, so the cystic component is predicted too. */
export const ped4Task: TaskDefinition = defineTask({
  id: 'ped4',
  description: 'BraTS-2024 Pediatric tumours, 4-region model (ET, TC, WT, CC) predicting every 2024 label',
  labels,
  regions: [
    { name: 'ET', labels: [1], threshold: 0.5, minSize: 50 },
    { name: 'TC', labels: [1, 2, 3], threshold: 0.5, minSize: 75 },
    { name: 'WT', labels: [1, 2, 3, 4], threshold: 0.5, minSize: 250 },
    { name: 'CC', labels: [3], threshold: 0.5, minSize: 50 },
  ],
  modalities: ['t1n', 't1c', 't2w', 't2f'],
  regionsToLabels: [
    { region: 'WT', label: 4 },
    { region: 'TC', label: 2 },
    { region: 'CC', label: 3 },
    { region: 'ET', label: 1 },
  ],
  training,
  evaluation: { preset: 'brats-2024-ped' },
});

/** Task `ped-paper`: the seed paper's released models run with its code's conventions (see paper.ts). */
export const pedPaperTask: TaskDefinition = makePedPaperTask(labels, training);

/** The tasks this plugin registers. */
export const tasks: TaskDefinition[] = [pedTask, ped4Task, pedPaperTask];
