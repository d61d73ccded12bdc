/**
 * Stage 1 of a fold's training: prepare the run. Checks the settings against the task, loads (or makes) the split
 * and picks the fold's cases, checks the cache's normalisation, creates the network and the training engine, and
 * initialises the weights (scratch, a checkpoint for fine-tuning, UpKern). Resuming is `checkpoints.ts`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readCheckpointFile } from '../../../checkpoint/node.js';
import { AUGMENTATION_PRESETS, type AugmentationConfig } from '../../../data/augmentation.js';
import { makeFolds, type SplitsFile } from '../../../data/folds.js';
import { readDatasetDescription } from '../../../data/node/cache.js';
import { MedNeXtError } from '../../../errors.js';
import { deepSupervisionWeights, type LossFn } from '../../../losses/deep-supervision.js';
import { MedNeXt } from '../../../model/mednext.js';
import { resolveNormalization, type NormalizationParams } from '../../../tasks/normalization.js';
import type { TaskDefinition } from '../../../tasks/task.js';
import { loadStateDict } from '../../../weights/state-dict.js';
import { upkernLoad } from '../../../weights/upkern.js';
import { finetuneParameterNames, reinitializeParameters } from '../../finetune.js';
import { TRAINING_DEFAULTS } from '../../settings.js';
import { RunFiles, type FoldFiles } from '../run-files.js';
import type { InitSource, TrainOptions } from '../train-options.js';
import { checkEngineSettings, createTrainingEngine, type TrainingEngine } from '../engines/index.js';
import { lossByName } from './losses.js';

/** Everything a fold's epochs work with, fixed for the run. */
export interface FoldRun {
  options: TrainOptions;
  task: TaskDefinition;
  fold: number;
  run: RunFiles;
  files: FoldFiles;
  trainIds: string[];
  valIds: string[];
  /** The normalisation the cache was preprocessed with (recorded in every checkpoint). */
  normalization: NormalizationParams[];
  augmentation: AugmentationConfig;
  foregroundFraction: number;
  validation: 'patch' | 'whole';
  casesInMemory: number;
  deepSupervision: boolean;
  lossFn: LossFn;
  /** The settings of the run, as `train-config.json` and the checkpoints record them. */
  record: Record<string, unknown>;
  /** The network on the host: checkpoints are written from it (the engine keeps it in step). */
  model: MedNeXt;
  /** What runs the steps and the validation passes (`options.engine`, default tfjs). */
  engine: TrainingEngine;
}

/** Loads the run's `splits.json` (or `splitsFile`), or creates it from the cache's dataset. */
export async function loadOrCreateSplits(
  options: Pick<TrainOptions, 'cacheDir' | 'outDir' | 'splitsFile' | 'folds' | 'seed' | 'task'>,
): Promise<SplitsFile> {
  const run = new RunFiles(options.outDir);
  const existing = await run.readSplits(options.splitsFile);
  if (existing) return existing;
  const dataset = await readDatasetDescription(options.cacheDir);
  if (dataset.task !== options.task.id) {
    throw new MedNeXtError(
      'CACHE_MISMATCH',
      `${options.cacheDir} was preprocessed for task '${dataset.task}', not '${options.task.id}'`,
    );
  }
  const splits = makeFolds(dataset.cases, options.folds ?? options.task.training.folds, options.seed);
  await run.writeSplits(splits);
  return splits;
}

/**
 * The normalisation the cache was preprocessed with; an error when the task now asks for
 * another (the checkpoint must record what the network was really trained on).
 */
async function cacheNormalization(cacheDir: string, task: TaskDefinition): Promise<NormalizationParams[]> {
  const dataset = await readDatasetDescription(cacheDir);
  const recorded = dataset.normalization ?? dataset.modalities.map(() => ({ method: 'zscore-nonzero' }));
  const wanted = resolveNormalization(task);
  if (JSON.stringify(recorded) !== JSON.stringify(wanted))
    throw new MedNeXtError(
      'CACHE_MISMATCH',
      `${cacheDir} was preprocessed with normalisation ${JSON.stringify(recorded)}, but task '${task.id}' asks for ${JSON.stringify(wanted)}; run mednext preprocess --overwrite`,
    );
  return recorded;
}

function checkSettings(options: TrainOptions): void {
  const { task, model: config } = options;
  checkEngineSettings(options.engine ?? 'tfjs', options);
  if (config.in_channels !== task.modalities.length) {
    throw new MedNeXtError(
      'TRAINING_SETTING',
      `model in_channels ${config.in_channels} != ${task.modalities.length} modalities of task '${task.id}'`,
    );
  }
  if (config.n_classes !== task.regions.length) {
    throw new MedNeXtError(
      'TRAINING_SETTING',
      `model n_classes ${config.n_classes} != ${task.regions.length} regions of task '${task.id}'`,
    );
  }
  if (options.patchSize.some((p) => p % 16 !== 0)) {
    throw new MedNeXtError(
      'TRAINING_SETTING',
      `patch size ${options.patchSize.join('x')}: every side must be a multiple of 16 (4 down-sampling levels)`,
    );
  }
}

/**
 * Initialises the network as `init` says and returns the variables to train: all of them, or for
 * fine-tuning only the last decoder layers and the heads (re-initialised on request).
 */
async function applyInit(
  model: MedNeXt,
  init: InitSource,
  seed: number,
  say: (message: string) => void,
): Promise<tf.Variable[]> {
  if (init.kind === 'checkpoint') {
    const { weights } = await readCheckpointFile(init.path);
    loadStateDict(model, weights.tensors, { source: init.path });
    if (init.trainLast === undefined) {
      say(`initialised from ${init.path}`);
      return model.trainableVariables();
    }
    const names = new Set(finetuneParameterNames(model, init.trainLast));
    if (init.reinit) reinitializeParameters(model, [...names], seed);
    const trainable = [...model.params].filter(([name]) => names.has(name)).map(([, v]) => v);
    say(
      `fine-tuning ${trainable.length} tensors (last ${init.trainLast} decoder layers + heads${init.reinit ? ', re-initialised' : ''}) from ${init.path}`,
    );
    return trainable;
  }
  if (init.kind === 'upkern') {
    const { weights } = await readCheckpointFile(init.path);
    const report = upkernLoad(model, weights.tensors);
    say(
      `UpKern from ${init.path}: ${report.resampled.length} kernels resampled, ${report.copied.length} tensors copied`,
    );
  }
  return model.trainableVariables();
}

/**
 * Prepares fold `options.fold`: checks the settings, picks the fold's cases, creates the network and its engine,
 * initialises the weights (see {@link InitSource}) and records the settings in `train-config.json`. The caller
 * owns the returned `model` and `engine` and disposes of them (they are disposed here if preparing fails).
 */
export async function prepareRun(options: TrainOptions): Promise<FoldRun> {
  const { task } = options;
  checkSettings(options);
  const splits = await loadOrCreateSplits(options);
  const fold = splits.folds[options.fold];
  if (!fold)
    throw new MedNeXtError(
      'SPLITS_INVALID',
      `fold ${options.fold} does not exist (splits has ${splits.folds.length} folds: 0..${splits.folds.length - 1})`,
    );
  const keep = (id: string) => !options.sources || options.sources.includes(splits.sources[id] ?? '');
  const normalization = await cacheNormalization(options.cacheDir, task);
  const trainIds = fold.train.filter(keep);
  const valIds = fold.val.filter(keep);
  if (trainIds.length === 0)
    throw new MedNeXtError(
      'SPLITS_INVALID',
      `fold ${options.fold}: no training cases${options.sources ? ` from sources ${options.sources.join(', ')}` : ''}`,
    );
  const lossFn = lossByName(options.loss);
  const run = new RunFiles(options.outDir);
  const files = await run.createFold(options.fold);
  const augmentation = options.augmentation ?? AUGMENTATION_PRESETS[TRAINING_DEFAULTS.augmentation];
  const foregroundFraction = options.foregroundFraction ?? TRAINING_DEFAULTS.foregroundFraction;
  const validation = options.validation ?? TRAINING_DEFAULTS.validation;
  const deepSupervision = options.model.deep_supervision ?? false;
  const record = {
    fold: options.fold,
    sources: options.sources ?? null,
    patchSize: options.patchSize,
    batchSize: options.batchSize,
    epochs: options.epochs,
    iterationsPerEpoch: options.iterationsPerEpoch,
    learningRate: options.learningRate,
    weightDecay: options.weightDecay,
    optimizer: options.optimizer,
    warmupSteps: options.warmupSteps ?? TRAINING_DEFAULTS.warmupSteps,
    loss: options.loss,
    deepSupervisionWeights: deepSupervision ? deepSupervisionWeights(5) : [1],
    foregroundFraction,
    validation,
    seed: options.seed,
    init: options.init ?? { kind: 'scratch' },
    augmentation,
  };
  const model = MedNeXt.create(options.model, { seed: options.seed });
  let engine: TrainingEngine | undefined;
  try {
    const say = options.onMessage ?? (() => undefined);
    const trainable = await applyInit(model, options.init ?? { kind: 'scratch' }, options.seed, say);
    const engineName = options.engine ?? 'tfjs';
    engine = await createTrainingEngine(engineName, {
      options,
      model,
      trainable,
      deepSupervision,
      lossFn,
      modalities: task.modalities.length,
      regions: task.regions.length,
    });
    // The engine is recorded with the settings, not in the checkpoints: their files do not depend on it.
    const engineRecord =
      engineName === 'webgpu'
        ? { engine: engineName, activationStorage: options.activationStorage ?? 'f32' }
        : { engine: engineName };
    await run.writeTrainConfig(options.fold, { task: task.id, model: options.model, ...record, ...engineRecord });
    return {
      options,
      task,
      fold: options.fold,
      run,
      files,
      trainIds,
      valIds,
      normalization,
      augmentation,
      foregroundFraction,
      validation,
      casesInMemory: options.casesInMemory ?? TRAINING_DEFAULTS.casesInMemory,
      deepSupervision,
      lossFn,
      record,
      model,
      engine,
    };
  } catch (error) {
    engine?.dispose();
    model.dispose();
    throw error;
  }
}
