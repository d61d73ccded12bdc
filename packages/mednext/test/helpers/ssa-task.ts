/** The SSA task definition, as the plugin declares it (the plugin package is not a dependency of mednext). */
import type { MedNeXtConfig } from '../../src/model/config.js';
import { defineTask, type TaskDefinition } from '../../src/tasks/index.js';

export const ssaTask = defineTask({
  id: 'ssa',
  description: 'BraTS-2024 SSA (test copy)',
  labels: [
    { value: 1, name: 'NETC', description: 'non-enhancing tumour core' },
    { value: 2, name: 'SNFH', description: 'edema' },
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
});

/**
 * A small SSA-like task for unit tests: the SSA labels, regions and label mapping with every threshold at 0.5
 * and no minimum size, and a 16^3 `S` training recipe of one iteration. `overrides` replace whole fields
 * (e.g. `regions` for other thresholds, `modalities` for fewer input channels).
 */
export function smallSsaTask(overrides: Partial<TaskDefinition> = {}): TaskDefinition {
  return defineTask({
    ...ssaTask,
    id: 'ssa-test',
    description: 'test',
    regions: ssaTask.regions.map((r) => ({ ...r, threshold: 0.5, minSize: 0 })),
    training: {
      preset: 'S',
      kernelSize: 3,
      patchSize: [16, 16, 16],
      batchSize: 1,
      epochs: 1,
      iterationsPerEpoch: 1,
      learningRate: 1e-3,
      weightDecay: 0,
      loss: 'dice-bce',
      folds: 1,
    },
    ...overrides,
  });
}

/** A tiny MedNeXt for the SSA task (4 inputs, 3 regions, one block per stage, deep supervision) that trains in seconds. */
export const tinySsaModel: MedNeXtConfig = {
  in_channels: 4,
  n_channels: 4,
  n_classes: 3,
  exp_r: 2,
  kernel_size: 3,
  deep_supervision: true,
  block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
};
