/**
 * The training loop of `mednext train` / `mednext finetune`, for one fold.
 *
 * Per epoch: `optimizer.train()`, `iterationsPerEpoch` steps on random patches (foreground
 * oversampled, augmented), `optimizer.eval()`, validation Dice on one fixed patch per validation
 * case, then the checkpoints (`last`, `best` by mean validation Dice, and the resume file), a JSONL
 * log line and the SVG plot. Everything random comes from one seeded generator whose state is
 * saved with the resume file, so `resume` continues exactly where the run stopped.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Random, slidingWindowInference, type Shape3 } from '@mednext-ts/tensor3d';
import { makeFolds, checkSplits, type SplitsFile } from '../../data/folds.js';
import { DEFAULT_AUGMENTATION, type AugmentationConfig } from '../../data/augmentation.js';
import { toChannelsLast, validationPatch } from '../../data/sampling.js';
import { labelsToRegions } from '../../data/regions.js';
import { mednextPredictor } from '../../inference/predictor.js';
import { readDatasetDescription, writeFileAtomic } from '../../data/node/cache.js';
import { batchDiceFocalLoss, regionDiceBceLoss } from '../../losses/region-losses.js';
import {
  deepSupervisionLoss,
  deepSupervisionWeights,
  targetPyramid,
  type LossFn,
} from '../../losses/deep-supervision.js';
import type { MedNeXtConfig } from '../../model/config.js';
import { MedNeXt } from '../../model/mednext.js';
import { losses, type LossDeclaration } from '../../tasks/losses.js';
import type { RegisterOptions } from '../../tasks/named-registry.js';
import { resolveNormalization, type NormalizationParams } from '../../tasks/normalization.js';
import type { TaskDefinition } from '../../tasks/task.js';
import { parseSafetensors } from '../../weights/safetensors.js';
import { getStateDict, loadStateDict } from '../../weights/state-dict.js';
import { upkernLoad } from '../../weights/upkern.js';
import {
  checkpointMetadata,
  decodeResume,
  encodeCheckpoint,
  encodeResume,
  type TrainingCheckpointInfo,
  type ResumeState,
} from '../checkpoint.js';
import { finetuneParameterNames, reinitializeParameters } from '../finetune.js';
import { RegionDiceAccumulator } from '../metrics.js';
import { createOptimizer, renameOptimizerState, type OptimizerKind, type TrainingOptimizer } from '../optimizer.js';
import { renderTrainingPlot, type EpochLogEntry } from '../plot.js';
import { CaseStore } from './case-store.js';
import { SamplePool, type SampleRequest } from './sample-pool.js';

/** How to initialise the network before training (ignored when resuming). */
export type InitSource =
  | { kind: 'scratch' }
  /** Fine-tuning: load a checkpoint, train only the last decoder layers and heads (all when trainLast is absent). */
  | { kind: 'checkpoint'; path: string; trainLast?: number; reinit?: boolean }
  /** UpKern: initialise a larger-kernel network from a k3 checkpoint. */
  | { kind: 'upkern'; path: string };

/** Settings of one fold's training run. */
export interface TrainOptions {
  task: TaskDefinition;
  /** Preprocessing cache folder (from `mednext preprocess`). */
  cacheDir: string;
  /** Run folder; the fold writes to `<outDir>/fold_<n>/`, the split to `<outDir>/splits.json`. */
  outDir: string;
  fold: number;
  /** Number of folds for a new split (default: the task's). */
  folds?: number;
  /** An existing splits.json to use (e.g. the pre-training run's, when fine-tuning). */
  splitsFile?: string;
  /** Only train/validate on cases of these sources (e.g. `['ssa']` when fine-tuning on SSA). */
  sources?: string[];
  model: MedNeXtConfig;
  patchSize: Shape3;
  batchSize: number;
  epochs: number;
  iterationsPerEpoch: number;
  learningRate: number;
  weightDecay: number;
  optimizer: OptimizerKind;
  warmupSteps?: number;
  /** Loss name from the loss registry (`dice-focal`, `dice-bce`, or one a plugin registered). */
  loss: string;
  augmentation?: AugmentationConfig;
  /** Fraction of patches centred on a foreground voxel (default 1/3). */
  foregroundFraction?: number;
  seed: number;
  init?: InitSource;
  /** Continue from `<fold>/checkpoint_last.resume.safetensors`. */
  resume?: boolean;
  /**
   * Validation each epoch: `patch` (default) scores one fixed patch per validation case, centred
   * on its tumour (fast; nnU-Net's per-epoch "pseudo Dice" is also on patches); `whole` runs
   * sliding-window inference (overlap 0.5) over every validation case.
   */
  validation?: 'patch' | 'whole';
  /** Cases kept in memory (default 64), per sampling worker. */
  casesInMemory?: number;
  /**
   * Worker threads that cut and augment patches ahead of the network step (default 0: in the
   * training thread). Results do not depend on this number.
   */
  samplingWorkers?: number;
  /** Stops after the current iteration; the last saved checkpoint stays valid. */
  signal?: AbortSignal;
  onIteration?: (e: { epoch: number; iteration: number; iterations: number; loss: number }) => void;
  onEpoch?: (e: EpochLogEntry) => void;
  /** Messages for the user (what was loaded, resumed from where). */
  onMessage?: (message: string) => void;
}

/** Result of {@link trainFold}. */
export interface TrainResult {
  foldDir: string;
  status: 'completed' | 'aborted';
  /** Epochs completed in total (including those before a resume). */
  epochsDone: number;
  bestDice: number | null;
  bestEpoch: number | null;
  log: EpochLogEntry[];
}

/** File names inside a fold folder. */
export const FOLD_FILES = {
  last: 'checkpoint_last.safetensors',
  best: 'checkpoint_best.safetensors',
  resume: 'checkpoint_last.resume.safetensors',
  log: 'log.jsonl',
  plot: 'progress.svg',
  config: 'train-config.json',
} as const;

/**
 * The normalisation the cache was preprocessed with; an error when the task now asks for
 * another (the checkpoint must record what the network was really trained on).
 */
async function cacheNormalization(cacheDir: string, task: TaskDefinition): Promise<NormalizationParams[]> {
  const dataset = await readDatasetDescription(cacheDir);
  const recorded = dataset.normalization ?? dataset.modalities.map(() => ({ method: 'zscore-nonzero' }));
  const wanted = resolveNormalization(task);
  if (JSON.stringify(recorded) !== JSON.stringify(wanted))
    throw new Error(
      `${cacheDir} was preprocessed with normalisation ${JSON.stringify(recorded)}, but task '${task.id}' asks for ${JSON.stringify(wanted)}; run mednext preprocess --overwrite`,
    );
  return recorded;
}

/** Loads `splits.json` from the run folder (or `splitsFile`), or creates it from the cache's dataset. */
export async function loadOrCreateSplits(
  options: Pick<TrainOptions, 'cacheDir' | 'outDir' | 'splitsFile' | 'folds' | 'seed' | 'task'>,
): Promise<SplitsFile> {
  const file = options.splitsFile ?? path.join(options.outDir, 'splits.json');
  if (existsSync(file)) return checkSplits(JSON.parse(await readFile(file, 'utf8')), file);
  if (options.splitsFile) throw new Error(`--splits ${options.splitsFile}: file not found`);
  const dataset = await readDatasetDescription(options.cacheDir);
  if (dataset.task !== options.task.id) {
    throw new Error(`${options.cacheDir} was preprocessed for task '${dataset.task}', not '${options.task.id}'`);
  }
  const splits = makeFolds(dataset.cases, options.folds ?? options.task.training.folds, options.seed);
  await mkdir(options.outDir, { recursive: true });
  await writeFileAtomic(file, JSON.stringify(splits, null, 1));
  return splits;
}

/** The loss of this name: a built-in, or one a plugin registered with {@link registerLoss}. */
export function lossByName(kind: string): LossFn {
  if (kind === 'dice-focal') return (logits, target) => batchDiceFocalLoss(logits, target);
  if (kind === 'dice-bce') return (logits, target) => regionDiceBceLoss(logits, target);
  if (losses.has(kind)) {
    const fn = losses.get(kind).lossFn;
    if (typeof fn === 'function') return fn as LossFn;
  }
  throw new Error(`unknown loss '${String(kind)}' (known: ${losses.names().join(', ')})`);
}

/**
 * Adds a training loss that task recipes (and `mednext train --loss`) may then name.
 *
 * @example
 * ```ts
 * registerLoss({ name: 'bce', description: 'binary cross-entropy', source: 'my-plugin', lossFn: bceWithLogits });
 * ```
 */
export function registerLoss(loss: LossDeclaration & { lossFn: LossFn }, options: RegisterOptions = {}): void {
  if (typeof loss?.lossFn !== 'function')
    throw new Error(`loss '${String(loss?.name)}' must give lossFn(logits, target)`);
  losses.register(loss, options);
}

async function readLog(file: string, upToEpoch: number): Promise<EpochLogEntry[]> {
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as EpochLogEntry)
    .filter((e) => e.epoch <= upToEpoch);
}

function checkModelConfig(task: TaskDefinition, config: MedNeXtConfig): void {
  if (config.in_channels !== task.modalities.length) {
    throw new Error(
      `model in_channels ${config.in_channels} != ${task.modalities.length} modalities of task '${task.id}'`,
    );
  }
  if (config.n_classes !== task.regions.length) {
    throw new Error(`model n_classes ${config.n_classes} != ${task.regions.length} regions of task '${task.id}'`);
  }
}

/** Reads a safetensors file's tensors. */
async function readStateDict(file: string) {
  try {
    return parseSafetensors(await readFile(file), file);
  } catch (error) {
    throw new Error(`${file}: cannot read checkpoint (${(error as Error).message})`, { cause: error });
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
    const sd = await readStateDict(init.path);
    loadStateDict(model, sd.tensors, { source: init.path });
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
    const sd = await readStateDict(init.path);
    const report = upkernLoad(model, sd.tensors);
    say(
      `UpKern from ${init.path}: ${report.resampled.length} kernels resampled, ${report.copied.length} tensors copied`,
    );
  }
  return model.trainableVariables();
}

/** Trains one fold. See the module comment for what happens per epoch. */
export async function trainFold(options: TrainOptions): Promise<TrainResult> {
  const { task } = options;
  checkModelConfig(task, options.model);
  if (options.patchSize.some((p) => p % 16 !== 0)) {
    throw new Error(
      `patch size ${options.patchSize.join('x')}: every side must be a multiple of 16 (4 down-sampling levels)`,
    );
  }
  const say = options.onMessage ?? (() => undefined);
  const splits = await loadOrCreateSplits(options);
  const fold = splits.folds[options.fold];
  if (!fold)
    throw new Error(
      `fold ${options.fold} does not exist (splits has ${splits.folds.length} folds: 0..${splits.folds.length - 1})`,
    );
  const keep = (id: string) => !options.sources || options.sources.includes(splits.sources[id] ?? '');
  const normalization = await cacheNormalization(options.cacheDir, task);
  const trainIds = fold.train.filter(keep);
  const valIds = fold.val.filter(keep);
  if (trainIds.length === 0)
    throw new Error(
      `fold ${options.fold}: no training cases${options.sources ? ` from sources ${options.sources.join(', ')}` : ''}`,
    );

  const foldDir = path.join(options.outDir, `fold_${options.fold}`);
  await mkdir(foldDir, { recursive: true });
  const files = Object.fromEntries(Object.entries(FOLD_FILES).map(([k, v]) => [k, path.join(foldDir, v)])) as Record<
    keyof typeof FOLD_FILES,
    string
  >;
  const augmentation = options.augmentation ?? DEFAULT_AUGMENTATION;
  const fgFraction = options.foregroundFraction ?? 1 / 3;
  const deepSupervision = options.model.deep_supervision ?? false;
  const trainingRecord = {
    fold: options.fold,
    sources: options.sources ?? null,
    patchSize: options.patchSize,
    batchSize: options.batchSize,
    epochs: options.epochs,
    iterationsPerEpoch: options.iterationsPerEpoch,
    learningRate: options.learningRate,
    weightDecay: options.weightDecay,
    optimizer: options.optimizer,
    warmupSteps: options.warmupSteps ?? 0,
    loss: options.loss,
    deepSupervisionWeights: deepSupervision ? deepSupervisionWeights(5) : [1],
    foregroundFraction: fgFraction,
    validation: options.validation ?? 'patch',
    seed: options.seed,
    init: options.init ?? { kind: 'scratch' },
    augmentation,
  };

  // Model, optimiser, data RNG: fresh, from an initial checkpoint, or resumed.
  const model = MedNeXt.create(options.model, { seed: options.seed });
  const optimizer: TrainingOptimizer = createOptimizer({
    kind: options.optimizer,
    learningRate: options.learningRate,
    weightDecay: options.weightDecay,
    warmupSteps: options.warmupSteps,
  });
  // Optimizer state is stored under official parameter names (tfjs variable names are per process).
  const variableToOfficial = new Map([...model.params].map(([name, v]) => [v.name, name]));
  const officialToVariable = new Map([...model.params].map(([name, v]) => [name, v.name]));
  let rng = new Random(options.seed);
  let startEpoch = 0;
  let best: { dice: number | null; epoch: number | null } = { dice: null, epoch: null };
  let log: EpochLogEntry[] = [];
  let status: TrainResult['status'] = 'completed';
  let pool: SamplePool | undefined;
  // Everything below may throw: the model and optimizer memory is released in `finally`.
  try {
    const trainable = await applyInit(model, options.init ?? { kind: 'scratch' }, options.seed, say);
    await writeFile(files.config, JSON.stringify({ task: task.id, model: options.model, ...trainingRecord }, null, 1));

    if (options.resume) {
      if (!existsSync(files.resume))
        throw new Error(`--resume: ${files.resume} does not exist (nothing to resume in ${foldDir})`);
      const r = decodeResume(await readFile(files.resume), files.resume);
      loadStateDict(model, r.weights, { source: files.resume });
      await optimizer.loadState(renameOptimizerState(r.optimizer, officialToVariable));
      rng = Random.fromState(r.state.rng);
      startEpoch = r.state.epoch + 1;
      best = { dice: r.state.bestDice, epoch: r.state.bestEpoch };
      log = await readLog(files.log, r.state.epoch);
      say(`resuming ${foldDir} after epoch ${r.state.epoch}`);
    }
    // The log is rewritten so that a resumed run's log equals an uninterrupted run's.
    await writeFileAtomic(files.log, log.map((e) => JSON.stringify(e) + '\n').join(''));

    const store = new CaseStore(options.cacheDir, options.casesInMemory ?? 64);
    pool = new SamplePool(
      {
        cacheDir: options.cacheDir,
        patchSize: options.patchSize,
        regions: task.regions,
        augmentation,
        casesInMemory: options.casesInMemory ?? 64,
      },
      options.samplingWorkers ?? 0,
    );
    const lossFn = lossByName(options.loss);
    const validation = options.validation ?? 'patch';
    const [px, py, pz] = options.patchSize;
    const nIn = task.modalities.length;
    const nOut = task.regions.length;
    const trainableNames = new Set(trainable.map((v) => v.name));
    const info = (epoch: number, valDiceMean: number | null): TrainingCheckpointInfo => ({
      task: task.id,
      regions: task.regions,
      modalities: task.modalities,
      patchSize: options.patchSize,
      normalization,
      fold: options.fold,
      epoch,
      valDiceMean,
      training: trainingRecord,
    });

    for (let epoch = startEpoch; epoch < options.epochs; epoch++) {
      const t0 = performance.now();
      optimizer.startEpoch(epoch, options.epochs);
      optimizer.train();
      // The epoch's samples are drawn up front (case, foreground flag, per-sample seed), so the
      // generator's state at the end of the epoch does not depend on how batches are produced.
      const batches: SampleRequest[][] = Array.from({ length: options.iterationsPerEpoch }, () =>
        Array.from({ length: options.batchSize }, () => ({
          id: trainIds[rng.int(0, trainIds.length - 1)]!,
          forceForeground: rng.chance(fgFraction),
          seed: rng.nextUint32(),
        })),
      );
      pool.setQueue(batches);
      let lossSum = 0;
      for (let it = 0; it < options.iterationsPerEpoch; it++) {
        if (options.signal?.aborted) {
          status = 'aborted';
          break;
        }
        const { x: xs, y: ys } = await pool.take();
        const x = tf.tensor5d(xs, [options.batchSize, px, py, pz, nIn]);
        const y = tf.tensor5d(ys, [options.batchSize, px, py, pz, nOut]);
        const targets = deepSupervision ? targetPyramid(y, 5) : [y];
        const { value, grads } = tf.variableGrads(() => {
          const outputs = model.forward(x, { training: true, deepSupervision });
          return deepSupervisionLoss(outputs, targets, lossFn, deepSupervision ? deepSupervisionWeights(5) : [1]);
        }, trainable);
        for (const name of Object.keys(grads)) if (!trainableNames.has(name)) delete grads[name];
        optimizer.applyGradients(grads);
        const lossValue = (await value.data())[0]!;
        tf.dispose([x, y, value, ...targets, ...Object.values(grads)]);
        if (!Number.isFinite(lossValue))
          throw new Error(`epoch ${epoch} iteration ${it}: the loss is ${lossValue}; lower the learning rate`);
        lossSum += lossValue;
        options.onIteration?.({ epoch, iteration: it + 1, iterations: options.iterationsPerEpoch, loss: lossValue });
      }
      if (status === 'aborted') break;

      // Validation and checkpoints at x (Schedule-Free eval mode).
      optimizer.eval();
      const acc = new RegionDiceAccumulator(task.regions.map((r) => r.name));
      let valLossSum = 0;
      for (const id of valIds) {
        const stored = await store.get(id);
        if (validation === 'whole') {
          // Whole (cropped) case by sliding window, as inference does; no loss on whole cases.
          const probs = await slidingWindowInference(stored.case.image, mednextPredictor(model, options.patchSize), {
            patchSize: options.patchSize,
            outChannels: nOut,
            overlap: 0.5,
          });
          const target = labelsToRegions(stored.case.labels.data, task.regions);
          const shape = stored.case.labels.shape;
          acc.add(toChannelsLast(probs), toChannelsLast({ data: target, shape: [nOut, ...shape] }));
          continue;
        }
        const v = validationPatch(stored.case, options.patchSize, task.regions);
        const x = tf.tensor5d(toChannelsLast(v.image), [1, px, py, pz, nIn]);
        const yArr = new Float32Array(toChannelsLast(v.target));
        const y = tf.tensor5d(yArr, [1, px, py, pz, nOut]);
        const [logits] = model.forward(x, { training: false, deepSupervision: false });
        const l = lossFn(logits!, y);
        const probs = tf.sigmoid(logits!);
        acc.add(await probs.data(), yArr);
        valLossSum += (await l.data())[0]!;
        tf.dispose([x, y, logits!, l, probs]);
      }
      const valDice = acc.dice();
      const valDiceMean = acc.meanDice();
      const improved = valDiceMean !== null && (best.dice === null || valDiceMean > best.dice);
      if (improved) best = { dice: valDiceMean, epoch };
      const weights = getStateDict(model);
      const metadata = checkpointMetadata(options.model, info(epoch, valDiceMean));
      await writeFileAtomic(files.last, encodeCheckpoint(weights, metadata));
      if (improved || (valIds.length === 0 && epoch === options.epochs - 1)) {
        await writeFileAtomic(files.best, encodeCheckpoint(weights, metadata));
      }
      const entry: EpochLogEntry = {
        epoch,
        trainLoss: lossSum / options.iterationsPerEpoch,
        valLoss: valIds.length > 0 && validation === 'patch' ? valLossSum / valIds.length : null,
        valDice,
        valDiceMean,
        learningRate: optimizer.learningRate,
        seconds: (performance.now() - t0) / 1000,
        iterations: options.iterationsPerEpoch,
        best: improved,
        time: new Date().toISOString(),
      };
      log.push(entry);
      await writeFile(files.log, JSON.stringify(entry) + '\n', { flag: 'a' });
      await writeFileAtomic(files.plot, renderTrainingPlot(log, `${task.id} fold ${options.fold}`));
      // The resume file goes last: if the process dies before it is replaced, resuming redoes this epoch
      // (its log line is dropped on resume), so the log never misses or repeats an epoch.
      const resume: ResumeState = { epoch, rng: rng.getState(), bestDice: best.dice, bestEpoch: best.epoch };
      await writeFileAtomic(
        files.resume,
        encodeResume(weights, renameOptimizerState(await optimizer.saveState(), variableToOfficial), resume, metadata),
      );
      options.onEpoch?.(entry);
    }
  } finally {
    await pool?.close();
    optimizer.dispose();
    model.dispose();
  }
  return {
    foldDir,
    status,
    epochsDone: log.length === 0 ? 0 : log[log.length - 1]!.epoch + 1,
    bestDice: best.dice,
    bestEpoch: best.epoch,
    log,
  };
}
