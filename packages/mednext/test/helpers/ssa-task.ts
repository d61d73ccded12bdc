/**
 * The SSA task of the real plugin (`plugins/ssa`), so these tests follow its definition rather than a copy.
 * Imported by path: the plugin depends on this package, so it cannot be a dependency of it as well (the build
 * runs before the tests, and the plugin's own `@mednext-ts/mednext/tasks` import resolves to the built entry).
 */
import type { MedNeXtConfig } from '../../src/model/config.js';
import { defineTask, type TaskDefinition } from '../../src/tasks/index.js';
import { ssaTask } from '../../../../plugins/ssa/src/index.js';

export { ssaTask };

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
