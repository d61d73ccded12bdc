/** A valid training recipe for test tasks that never train (or train one step): MedNeXt-S, 16^3, 2 folds. */
import type { TrainingRecipe } from '../../src/tasks/index.js';

export const TINY_RECIPE: TrainingRecipe = {
  preset: 'S',
  kernelSize: 3,
  patchSize: [16, 16, 16],
  batchSize: 1,
  epochs: 1,
  iterationsPerEpoch: 1,
  learningRate: 0.001,
  weightDecay: 0,
  loss: 'dice-bce',
  folds: 2,
};
