import { describe, expect, it } from 'vitest';
import {
  MedNeXtError,
  TRAINING_DEFAULTS,
  defaultSamplingWorkers,
  resolveTrainingSettings,
  type FlagSettings,
  type RecipeSettings,
  type TrainingSettings,
} from '../src/index.js';

/** Every setting gets three different values: the flag's, the recipe's and (where there is one) the default. */
const FLAG: TrainingSettings = {
  preset: 'L',
  kernelSize: 7,
  folds: 3,
  patchSize: [32, 32, 32],
  batchSize: 4,
  epochs: 9,
  iterationsPerEpoch: 11,
  learningRate: 0.1,
  weightDecay: 0.2,
  optimizer: 'adamw-cosine',
  warmupSteps: 13,
  loss: 'dice-bce',
  augmentation: 'none',
  foregroundFraction: 0.9,
  seed: 1,
  casesInMemory: 2,
  validation: 'patch',
  deepSupervision: true,
  samplingWorkers: 3,
  trainLast: 4,
  reinit: false,
};
const RECIPE: TrainingSettings = {
  preset: 'M',
  kernelSize: 5,
  folds: 7,
  patchSize: [64, 64, 48],
  batchSize: 3,
  epochs: 21,
  iterationsPerEpoch: 31,
  learningRate: 0.003,
  weightDecay: 0.01,
  optimizer: 'adamw-poly',
  warmupSteps: 17,
  loss: 'plugin-loss',
  augmentation: 'paper',
  foregroundFraction: 0.5,
  seed: 99,
  casesInMemory: 8,
  validation: 'whole',
  deepSupervision: false,
  samplingWorkers: 1,
  trainLast: 6,
  reinit: true,
};
const asRecipe = ({ trainLast, reinit, ...rest }: TrainingSettings): RecipeSettings => ({
  ...rest,
  finetune: { trainLast, reinit },
});
const KEYS = Object.keys(FLAG) as (keyof TrainingSettings)[];

it('the three layers differ in every setting, so each precedence test can fail', () => {
  for (const key of KEYS) {
    expect(FLAG[key], key).not.toEqual(RECIPE[key]);
    if (key in TRAINING_DEFAULTS)
      expect(RECIPE[key], key).not.toEqual(TRAINING_DEFAULTS[key as keyof typeof TRAINING_DEFAULTS]);
  }
});

describe('resolveTrainingSettings', () => {
  it.each(KEYS)('%s: the flag wins over the recipe', (key) => {
    const flags: FlagSettings = { [key]: FLAG[key] };
    expect(resolveTrainingSettings(asRecipe(RECIPE), flags)[key]).toEqual(FLAG[key]);
  });

  it.each(KEYS)('%s: without the flag, the recipe wins over the built-in default', (key) => {
    expect(resolveTrainingSettings(asRecipe(RECIPE), {})[key]).toEqual(RECIPE[key]);
  });

  it.each(
    KEYS.filter((k) => !['preset', 'kernelSize', 'patchSize', 'batchSize', 'epochs', 'learningRate'].includes(k)),
  )('%s: with neither, the built-in default', (key) => {
    const { [key]: _dropped, ...rest } = RECIPE;
    const recipe = asRecipe({ ...rest } as TrainingSettings);
    if (key === 'trainLast' || key === 'reinit') delete recipe.finetune![key];
    else delete (recipe as Record<string, unknown>)[key];
    const resolved = resolveTrainingSettings(recipe, {}, { cpus: 8 });
    const expected = key === 'samplingWorkers' ? 4 : TRAINING_DEFAULTS[key as keyof typeof TRAINING_DEFAULTS];
    expect(resolved[key]).toEqual(expected);
  });

  it('the built-in defaults are the documented ones', () => {
    expect(TRAINING_DEFAULTS).toMatchObject({
      foregroundFraction: 0.333,
      seed: 12345,
      casesInMemory: 64,
      optimizer: 'schedulefree',
      warmupSteps: 0,
      validation: 'patch',
      augmentation: 'default',
      deepSupervision: true,
      trainLast: 10,
      reinit: false,
    });
    expect([1, 2, 3, 6, 16].map(defaultSamplingWorkers)).toEqual([0, 0, 1, 4, 4]);
  });

  it('a setting a recipe must state and no flag sets is an error naming it', () => {
    const { epochs: _epochs, ...rest } = RECIPE;
    const error = (() => {
      try {
        resolveTrainingSettings(asRecipe(rest as TrainingSettings));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(MedNeXtError);
    expect(error).toMatchObject({
      code: 'TRAINING_SETTING',
      message: "training setting 'epochs' is not given: the task recipe has none and no flag sets it",
    });
  });

  it.each([
    [{ foregroundFraction: 1.5 }, 'foregroundFraction 1.5: must be between 0 and 1'],
    [{ patchSize: [32, 40, 32] }, 'patchSize [32,40,32]: every side must be a positive multiple of 16'],
    [{ learningRate: 0 }, 'learningRate 0: must be a positive number'],
    [{ augmentation: 'heavy' }, 'augmentation "heavy": must be one of default, paper, none'],
    [{ folds: 1 }, 'folds 1: must be an integer of at least 2'],
  ] as [FlagSettings, string][])('an out-of-range value is refused: %j', (flags, message) => {
    expect(() => resolveTrainingSettings(asRecipe(RECIPE), flags)).toThrow(message);
  });
});
