/**
 * Shared parts of `mednext train` and `mednext finetune`: flags, turning them into
 * {@link TrainOptions}, and running folds with a progress display.
 */
import os from 'node:os';
import { Flags, type Command } from '@oclif/core';
import cliProgress from 'cli-progress';
import { AUGMENTATION_PRESETS, presetConfig } from '@mednext-ts/mednext';
import {
  resolveTrainingSettings,
  type FlagSettings,
  type MedNeXtConfig,
  type PresetName,
  type RecipeSettings,
  type TrainingSettings,
} from '@mednext-ts/mednext';
import {
  RunFiles,
  checkEngineSettings,
  loadOrCreateSplits,
  trainFold,
  type TrainOptions,
  type TrainResult,
} from '@mednext-ts/mednext/node';
import type { BackendPreference } from '@mednext-ts/tensor3d';
import type { TaskDefinition } from '@mednext-ts/mednext/tasks';
import type { Shape3 } from '@mednext-ts/tensor3d';
import { parseDims3 } from './dims.js';
import { claimFolds, prepareRunFolder, type RunFolderRequest } from './run-folder.js';
import { chooseNetworkEngine, type GpuProbe, type NetworkEngineChoice } from './inference/network-engine.js';
import { BACKEND_CHOICES, setupBackend } from './inference/runtime.js';

/** Flags common to both commands. Defaults marked "task" come from the task's training recipe. */
export const trainingFlags = {
  data: Flags.string({ char: 'd', description: 'preprocessed cache folder (from mednext preprocess)', required: true }),
  out: Flags.string({
    char: 'o',
    description: 'run folder: splits.json and fold_<n>/ with checkpoints, log and plot',
    required: true,
  }),
  task: Flags.string({ description: "task id (default: the cache's task)" }),
  fold: Flags.string({ description: 'fold to train: a number from 0, or "all"', default: 'all' }),
  'num-folds': Flags.integer({
    description: 'number of cross-validation folds for a new split (default: task)',
    min: 2,
    aliases: ['folds'],
    deprecateAliases: true,
  }),
  splits: Flags.string({ description: 'use this splits.json instead of <out>/splits.json' }),
  sources: Flags.string({
    description: 'only use cases of these sources (comma-separated source tags from preprocess --root path:tag)',
  }),
  'patch-size': Flags.string({ description: 'training patch, e.g. 128x160x112 (default: task)' }),
  'batch-size': Flags.integer({ description: 'patches per step (default: task)', min: 1 }),
  epochs: Flags.integer({ description: 'epochs (default: task)', min: 1 }),
  iterations: Flags.integer({ description: 'iterations per epoch (default: task, 250)', min: 1 }),
  lr: Flags.string({ description: 'learning rate (default: task; SSA 0.0027, PED 0.0005)' }),
  'weight-decay': Flags.string({ description: 'weight decay (default: task, 0)' }),
  optimizer: Flags.string({
    description: 'optimiser (default: schedulefree)',
    options: ['schedulefree', 'adamw-poly', 'adamw-cosine'],
  }),
  warmup: Flags.integer({ description: 'Schedule-Free linear warmup steps (default: 0)', min: 0 }),
  loss: Flags.string({
    description:
      'loss by name (default: task): dice-focal (batch Dice + focal), dice-bce (Dice + BCE as nnU-Net), or one a plugin registered',
  }),
  augmentation: Flags.string({
    description: 'augmentation preset (default: default)',
    options: Object.keys(AUGMENTATION_PRESETS),
  }),
  foreground: Flags.string({ description: 'fraction of patches centred on a foreground voxel (default: 0.333)' }),
  validation: Flags.string({
    description:
      'per-epoch validation: one tumour-centred patch per case (fast) or whole cases by sliding window (default: patch)',
    options: ['patch', 'whole'],
  }),
  'deep-supervision': Flags.boolean({
    description: 'deep supervision (5 outputs, weights 16/31..1/31; default: on)',
    allowNo: true,
  }),
  seed: Flags.integer({ description: 'seed of initialisation, split, sampling and augmentation (default: 12345)' }),
  resume: Flags.boolean({
    description: 'continue each fold from its checkpoint_last.resume.safetensors (folds already finished are skipped)',
  }),
  overwrite: Flags.boolean({
    description:
      "delete the checkpoints of the folds to train (and, when --num-folds differs from the run folder's splits.json, " +
      'that split and every fold trained on it) and start again; without it (or --resume) a run folder that already ' +
      'holds them is refused',
  }),
  'cases-in-memory': Flags.integer({
    description: 'preprocessed cases kept in RAM (per sampling worker; default: 64)',
    min: 1,
  }),
  'sampling-workers': Flags.integer({
    description:
      'worker threads cutting and augmenting patches ahead of the step (default: CPUs - 2, at most 4); results do not depend on it',
    min: 0,
  }),
  backend: Flags.string({
    description:
      'compute backend: webgpu trains on the GPU trainer (Schedule-Free AdamW only); auto picks it on a hardware GPU, else the CPU backends',
    options: [...BACKEND_CHOICES],
    default: 'auto',
  }),
  'activation-storage': Flags.string({
    description:
      'webgpu engine: store the block inputs kept for the backward pass in f32 or f16 (half the memory; gradients differ by f16 rounding) (default: f32)',
    options: ['f32', 'f16'],
  }),
  threads: Flags.integer({
    description: 'worker threads of the WebAssembly SIMD kernels on the CPU backends (default: cores, at most 4)',
    min: 1,
  }),
  quiet: Flags.boolean({ char: 'q', description: 'no progress output' }),
};

/** Parses `128x160x112` (or `128,160,112`). */
export function parsePatch(value: string, flag = '--patch-size'): Shape3 {
  const dims = parseDims3(value);
  if (!dims || dims.some((n) => n % 16 !== 0)) {
    throw new Error(`${flag} ${value}: expected three positive multiples of 16 like 128x160x112`);
  }
  return dims;
}

/** Parses a number flag, with a readable error. */
export function parseNumber(value: string, flag: string, check: (n: number) => boolean = Number.isFinite): number {
  const n = Number(value);
  if (!check(n)) throw new Error(`${flag} ${value}: not a valid value`);
  return n;
}

/** Folds selected by `--fold`. */
export function parseFolds(value: string, count: number): number[] {
  if (value === 'all') return Array.from({ length: count }, (_, i) => i);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n >= count) throw new Error(`--fold ${value}: use 0..${count - 1} or "all"`);
  return [n];
}

/** The network config of a preset for a task (in/out channels from the task), with deep supervision as asked. */
export function modelForTask(
  task: TaskDefinition,
  preset: PresetName,
  kernel: number,
  deepSupervision: boolean,
): MedNeXtConfig {
  return presetConfig(preset, {
    kernelSize: kernel,
    inChannels: task.modalities.length,
    nClasses: task.regions.length,
    deepSupervision,
  });
}

type FlagValues = { [K in keyof typeof trainingFlags]?: unknown } & {
  preset?: unknown;
  kernel?: unknown;
  'train-last'?: unknown;
  reinit?: unknown;
};

/**
 * The training settings of a command: each flag given wins, else the task recipe, else the built-in default
 * (`resolveTrainingSettings`, the one place that decides). String flags are parsed here, with readable errors.
 */
export function settingsFromFlags(flags: FlagValues, recipe: RecipeSettings): TrainingSettings {
  const str = (k: keyof FlagValues) => flags[k] as string | undefined;
  const num = (k: keyof FlagValues) => flags[k] as number | undefined;
  const given: FlagSettings = {
    preset: str('preset') as TrainingSettings['preset'] | undefined,
    kernelSize: num('kernel'),
    folds: num('num-folds'),
    patchSize: str('patch-size') ? parsePatch(str('patch-size')!) : undefined,
    batchSize: num('batch-size'),
    epochs: num('epochs'),
    iterationsPerEpoch: num('iterations'),
    learningRate: str('lr') ? parseNumber(str('lr')!, '--lr', (n) => n > 0) : undefined,
    weightDecay: str('weight-decay') ? parseNumber(str('weight-decay')!, '--weight-decay', (n) => n >= 0) : undefined,
    optimizer: str('optimizer') as TrainingSettings['optimizer'] | undefined,
    warmupSteps: num('warmup'),
    loss: str('loss'),
    augmentation: str('augmentation'),
    foregroundFraction: str('foreground')
      ? parseNumber(str('foreground')!, '--foreground', (n) => n >= 0 && n <= 1)
      : undefined,
    seed: num('seed'),
    casesInMemory: num('cases-in-memory'),
    validation: str('validation') as TrainingSettings['validation'] | undefined,
    deepSupervision: flags['deep-supervision'] as boolean | undefined,
    samplingWorkers: num('sampling-workers'),
    trainLast: num('train-last'),
    reinit: flags.reinit as boolean | undefined,
  };
  return resolveTrainingSettings(recipe, given, { cpus: os.cpus().length });
}

/** Everything of {@link TrainOptions} that comes from the shared flags and the resolved settings. */
export function optionsFromFlags(
  flags: FlagValues,
  task: TaskDefinition,
  model: MedNeXtConfig,
  settings: TrainingSettings,
): Omit<TrainOptions, 'fold' | 'init' | 'signal' | 'onIteration' | 'onEpoch' | 'onMessage'> {
  const str = (k: keyof typeof trainingFlags) => flags[k] as string | undefined;
  return {
    task,
    cacheDir: str('data')!,
    outDir: str('out')!,
    folds: settings.folds,
    splitsFile: str('splits'),
    sources: str('sources')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    model,
    patchSize: settings.patchSize,
    batchSize: settings.batchSize,
    epochs: settings.epochs,
    iterationsPerEpoch: settings.iterationsPerEpoch,
    learningRate: settings.learningRate,
    weightDecay: settings.weightDecay,
    optimizer: settings.optimizer,
    warmupSteps: settings.warmupSteps,
    loss: settings.loss,
    augmentation: AUGMENTATION_PRESETS[settings.augmentation as keyof typeof AUGMENTATION_PRESETS],
    foregroundFraction: settings.foregroundFraction,
    seed: settings.seed,
    resume: Boolean(flags.resume),
    casesInMemory: settings.casesInMemory,
    validation: settings.validation,
    samplingWorkers: settings.samplingWorkers,
    activationStorage: str('activation-storage') as TrainOptions['activationStorage'],
  };
}

/** The engine a training command runs on (see {@link setupTrainingEngine}). */
export interface TrainingEngineChoice extends NetworkEngineChoice {
  /** Releases the GPU device, if any (after the last fold). */
  release(): void;
}

/**
 * Chooses what trains, from `--backend` as `mednext predict` chooses its network engine: `webgpu` the GPU trainer
 * on whatever adapter there is (an error without one, or with an optimizer it does not have, before any probe);
 * `auto` the GPU trainer on a hardware adapter when the optimizer is Schedule-Free, else tfjs; any other backend
 * tfjs.
 * @throws MedNeXtError `TRAINING_SETTING` (webgpu with AdamW), `GPU_UNAVAILABLE` (webgpu without an adapter)
 */
export async function planTrainingEngine(
  preference: BackendPreference,
  optimizer: string,
  probe?: GpuProbe,
): Promise<TrainingEngineChoice> {
  if (preference === 'webgpu') checkEngineSettings('webgpu', { optimizer });
  let choice = await chooseNetworkEngine(preference, probe);
  if (choice.engine === 'webgpu' && optimizer !== 'schedulefree') {
    // Only `auto` gets here: it falls back to the CPU rather than refuse a setting the user chose.
    choice.device?.destroy();
    choice = { engine: 'tfjs', reason: `the webgpu engine trains with Schedule-Free AdamW only, not ${optimizer}` };
  }
  const device = choice.device;
  return { ...choice, release: () => device?.destroy() };
}

/**
 * {@link planTrainingEngine} for a command: activates the tfjs backend (with the GPU trainer, the CPU backends
 * do the small work around it: validation loss, plugin losses) and says on stderr which engine and why.
 */
export async function setupTrainingEngine(
  command: Command,
  flags: { backend: string; threads?: number; quiet: boolean; 'activation-storage'?: string },
  optimizer: string,
): Promise<TrainingEngineChoice> {
  const preference = flags.backend as BackendPreference;
  let choice: TrainingEngineChoice;
  try {
    choice = await planTrainingEngine(preference, optimizer);
  } catch (error) {
    command.error((error as Error).message, { exit: 1 });
  }
  const backend = await setupBackend(choice.engine === 'webgpu' ? 'auto' : preference, flags.threads);
  if (!flags.quiet) {
    command.logToStderr(`backend: ${backend.backend} (${backend.reason})`);
    command.logToStderr(
      choice.engine === 'webgpu'
        ? `engine: WebGPU trainer (${choice.reason})` // the reason names the adapter
        : `engine: tfjs on ${backend.backend} (${choice.reason})`,
    );
    if (choice.engine !== 'webgpu' && flags['activation-storage'] !== undefined)
      command.logToStderr('--activation-storage applies to the webgpu engine only: ignored on tfjs');
  }
  return choice;
}

/** `1.23 GiB` / `45.6 MiB`, for GPU memory in progress lines. */
export function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Runs the selected folds one after the other, with a per-epoch progress bar and a line per epoch (stderr), then
 * prints each fold's best mean Dice on stdout.
 */
export async function runFolds(
  command: Command,
  base: Omit<TrainOptions, 'fold'>,
  foldFlag: string,
  initFor: (fold: number) => TrainOptions['init'],
  quiet: boolean,
  folder: Pick<RunFolderRequest, 'foldsRequested' | 'overwrite'> = { overwrite: false },
): Promise<TrainResult[]> {
  const request: RunFolderRequest = {
    outDir: base.outDir,
    splitsFile: base.splitsFile,
    resume: Boolean(base.resume),
    ...folder,
  };
  let folds: number[];
  try {
    await prepareRunFolder(request);
    const splits = await loadOrCreateSplits(base);
    folds = parseFolds(foldFlag, splits.folds.length);
    await claimFolds(request, folds);
  } catch (error) {
    command.error((error as Error).message, { exit: 1 });
  }
  const log = (line: string) => {
    if (!quiet) command.logToStderr(line);
  };
  const runFiles = new RunFiles(base.outDir);
  const results: TrainResult[] = [];
  for (const fold of folds) {
    const foldDir = runFiles.fold(fold).dir;
    const resume = Boolean(base.resume) && runFiles.canResume(fold);
    const tty = !quiet && process.stderr.isTTY;
    let bar: cliProgress.SingleBar | undefined;
    log(`fold ${fold}: ${resume ? 'resuming' : 'training'} -> ${foldDir}`);
    const result = await trainFold({
      ...base,
      fold,
      resume,
      init: initFor(fold),
      onMessage: log,
      onIteration: (e) => {
        if (!tty) return;
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              format: 'epoch {epoch} [{bar}] {value}/{total} ETA {eta_formatted} loss {loss}{gpu}',
              stream: process.stderr,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(e.iterations, 0, { epoch: e.epoch, loss: '-', gpu: '' });
        }
        const gpu =
          e.gpuIdleMs === undefined
            ? ''
            : `, GPU idle ${e.gpuIdleMs.toFixed(0)} ms, peak ${formatBytes(e.peakBytes ?? 0)}`;
        bar.update(e.iteration, { epoch: e.epoch, loss: e.loss.toFixed(4), gpu });
      },
      onEpoch: (e) => {
        bar?.stop();
        bar = undefined;
        const dice = Object.entries(e.valDice)
          .map(([k, v]) => `${k} ${v === null ? '-' : v.toFixed(3)}`)
          .join(', ');
        const gpu =
          e.gpuIdleMsMean === undefined
            ? ''
            : `, GPU idle ${e.gpuIdleMsMean.toFixed(0)} ms/step (max ${e.gpuIdleMsMax!.toFixed(0)}), ` +
              `peak GPU memory ${formatBytes(e.gpuPeakBytes ?? 0)}`;
        log(
          `fold ${fold} epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)}, val loss ${e.valLoss?.toFixed(4) ?? '-'}, ` +
            `Dice ${dice}${e.best ? ' (best)' : ''}, lr ${e.learningRate.toPrecision(3)}, ${e.seconds.toFixed(1)} s${gpu}`,
        );
      },
    });
    bar?.stop();
    log(
      `fold ${fold}: ${result.status}, ${result.epochsDone} epochs; best mean Dice ${result.bestDice?.toFixed(4) ?? '-'}` +
        ` (epoch ${result.bestEpoch ?? '-'}); checkpoints in ${result.foldDir}`,
    );
    results.push(result);
  }
  for (const r of results)
    command.log(`${r.foldDir}: best mean Dice ${r.bestDice?.toFixed(4) ?? '-'} at epoch ${r.bestEpoch ?? '-'}`);
  return results;
}
