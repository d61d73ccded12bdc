/**
 * The one place where a training run's settings are decided: each setting comes from the command-line flag when
 * given, else from the task's training recipe, else from the built-in default ({@link TRAINING_DEFAULTS}). Settings
 * every recipe must state (patch size, batch size, epochs, learning rate, ...) have no built-in default: a recipe
 * that lacks one and no flag is an error naming the setting.
 */
import type { Shape3 } from '@mednext-ts/tensor3d';
import { AUGMENTATION_PRESETS } from '../data/augmentation.js';
import { MedNeXtError } from '../errors.js';
import type { OptimizerKind } from './optimizer.js';

/** Every setting of a training (or fine-tuning) run, resolved. */
export interface TrainingSettings {
  /** MedNeXt size. */
  preset: 'S' | 'B' | 'M' | 'L';
  /** Depthwise kernel size. */
  kernelSize: number;
  /** Cross-validation folds of a new split. */
  folds: number;
  /** Training patch (D, H, W), multiples of 16. */
  patchSize: Shape3;
  batchSize: number;
  epochs: number;
  iterationsPerEpoch: number;
  learningRate: number;
  weightDecay: number;
  optimizer: OptimizerKind;
  /** Schedule-Free linear warmup steps. */
  warmupSteps: number;
  /** Loss name from the loss registry. */
  loss: string;
  /** Augmentation preset name (`default`, `paper`, `none`). */
  augmentation: string;
  /** Fraction of patches centred on a foreground voxel. */
  foregroundFraction: number;
  /** Seed of initialisation, split, sampling and augmentation. */
  seed: number;
  /** Preprocessed cases kept in memory, per sampling worker. */
  casesInMemory: number;
  /** Per-epoch validation: one tumour-centred patch per case, or whole cases by sliding window. */
  validation: 'patch' | 'whole';
  /** Deep supervision (5 outputs). */
  deepSupervision: boolean;
  /** Worker threads cutting patches ahead of the step (results do not depend on it). */
  samplingWorkers: number;
  /** Fine-tuning: decoder layers to train, counted from the output. */
  trainLast: number;
  /** Fine-tuning: re-initialise the trained layers first. */
  reinit: boolean;
}

/**
 * Built-in defaults, used when neither a flag nor the recipe gives the setting. `samplingWorkers` is computed from
 * the CPUs instead ({@link defaultSamplingWorkers}).
 */
export const TRAINING_DEFAULTS = {
  folds: 5,
  iterationsPerEpoch: 250,
  weightDecay: 0,
  optimizer: 'schedulefree',
  warmupSteps: 0,
  loss: 'dice-focal',
  augmentation: 'default',
  // About one patch in three centred on foreground (nnU-Net: 0.33); 0.333 is what `mednext train` has always used,
  // so runs (and resumes across versions) repeat exactly.
  foregroundFraction: 0.333,
  seed: 12345,
  casesInMemory: 64,
  validation: 'patch',
  deepSupervision: true,
  trainLast: 10,
  reinit: false,
} as const satisfies Partial<TrainingSettings>;

/** What a task's training recipe may state (a `TrainingRecipe` is one); fine-tuning settings under `finetune`. */
export type RecipeSettings = Partial<Omit<TrainingSettings, 'trainLast' | 'reinit'>> & {
  finetune?: { trainLast?: number; reinit?: boolean };
};

/** Settings given on the command line (already parsed); absent ones fall back to the recipe. */
export type FlagSettings = Partial<TrainingSettings>;

/** Sampling workers when none are asked for: CPUs - 2 (one for the network step, one for the rest), at most 4. */
export function defaultSamplingWorkers(cpus: number): number {
  return Math.max(0, Math.min(4, cpus - 2));
}

const OPTIMIZERS: readonly OptimizerKind[] = ['schedulefree', 'adamw-poly', 'adamw-cosine'];

/** A setting's range check: the reason it is invalid, or undefined. */
const CHECKS: { [K in keyof TrainingSettings]?: (value: TrainingSettings[K]) => string | undefined } = {
  patchSize: (p) =>
    p.length !== 3 || p.some((n) => !Number.isInteger(n) || n <= 0 || n % 16 !== 0)
      ? 'every side must be a positive multiple of 16 (4 down-sampling levels)'
      : undefined,
  folds: (n) => (Number.isInteger(n) && n >= 2 ? undefined : 'must be an integer of at least 2'),
  batchSize: (n) => (Number.isInteger(n) && n >= 1 ? undefined : 'must be a positive integer'),
  epochs: (n) => (Number.isInteger(n) && n >= 1 ? undefined : 'must be a positive integer'),
  iterationsPerEpoch: (n) => (Number.isInteger(n) && n >= 1 ? undefined : 'must be a positive integer'),
  learningRate: (n) => (Number.isFinite(n) && n > 0 ? undefined : 'must be a positive number'),
  weightDecay: (n) => (Number.isFinite(n) && n >= 0 ? undefined : 'must be zero or positive'),
  optimizer: (o) => (OPTIMIZERS.includes(o) ? undefined : `must be one of ${OPTIMIZERS.join(', ')}`),
  warmupSteps: (n) => (Number.isInteger(n) && n >= 0 ? undefined : 'must be zero or a positive integer'),
  augmentation: (name) =>
    name in AUGMENTATION_PRESETS ? undefined : `must be one of ${Object.keys(AUGMENTATION_PRESETS).join(', ')}`,
  foregroundFraction: (n) => (Number.isFinite(n) && n >= 0 && n <= 1 ? undefined : 'must be between 0 and 1'),
  seed: (n) => (Number.isInteger(n) ? undefined : 'must be an integer'),
  casesInMemory: (n) => (Number.isInteger(n) && n >= 1 ? undefined : 'must be a positive integer'),
  validation: (v) => (v === 'patch' || v === 'whole' ? undefined : "must be 'patch' or 'whole'"),
  samplingWorkers: (n) => (Number.isInteger(n) && n >= 0 ? undefined : 'must be zero or a positive integer'),
  trainLast: (n) => (Number.isInteger(n) && n >= 0 ? undefined : 'must be zero or a positive integer'),
};

/**
 * Resolves every training setting: flag > recipe > built-in default. `cpus` (default 1) sizes the default
 * sampling workers. Each resolved value is range-checked.
 *
 * @throws MedNeXtError `TRAINING_SETTING` naming the setting when neither a flag nor the recipe gives a setting
 * without a default, or a value is out of range.
 * @example
 * ```ts
 * const settings = resolveTrainingSettings(task.training, { epochs: 75, learningRate: 5e-4 }, { cpus: os.cpus().length });
 * settings.epochs; // 75 (the flag)
 * settings.batchSize; // the recipe's
 * settings.seed; // 12345 (built in)
 * ```
 */
export function resolveTrainingSettings(
  recipe: RecipeSettings,
  flags: FlagSettings = {},
  options: { cpus?: number } = {},
): TrainingSettings {
  const recipeLayer: Partial<TrainingSettings> = {
    ...recipe,
    trainLast: recipe.finetune?.trainLast,
    reinit: recipe.finetune?.reinit,
  };
  const defaults: Partial<TrainingSettings> = {
    ...TRAINING_DEFAULTS,
    samplingWorkers: defaultSamplingWorkers(options.cpus ?? 1),
  };
  const keys: (keyof TrainingSettings)[] = [
    'preset',
    'kernelSize',
    'folds',
    'patchSize',
    'batchSize',
    'epochs',
    'iterationsPerEpoch',
    'learningRate',
    'weightDecay',
    'optimizer',
    'warmupSteps',
    'loss',
    'augmentation',
    'foregroundFraction',
    'seed',
    'casesInMemory',
    'validation',
    'deepSupervision',
    'samplingWorkers',
    'trainLast',
    'reinit',
  ];
  const out: Partial<Record<keyof TrainingSettings, unknown>> = {};
  for (const key of keys) {
    const value = flags[key] ?? recipeLayer[key] ?? defaults[key];
    if (value === undefined)
      throw new MedNeXtError(
        'TRAINING_SETTING',
        `training setting '${key}' is not given: the task recipe has none and no flag sets it`,
      );
    const problem = (CHECKS[key] as ((v: unknown) => string | undefined) | undefined)?.(value);
    if (problem) throw new MedNeXtError('TRAINING_SETTING', `${key} ${JSON.stringify(value)}: ${problem}`);
    out[key] = value;
  }
  return out as TrainingSettings;
}
