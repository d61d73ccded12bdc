/// <reference types="@webgpu/types" />
/**
 * The options and the result of {@link trainFold}: what one fold's training run is asked to do.
 */
import type { Shape3 } from '@mednext-ts/tensor3d';
import type { AugmentationConfig } from '../../data/augmentation.js';
import type { MedNeXtConfig } from '../../model/config.js';
import type { TaskDefinition } from '../../tasks/task.js';
import type { OptimizerKind } from '../optimizer.js';
import type { TrainingEngineName } from './engines/types.js';
import type { EpochLogEntry } from '../plot.js';

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
  /** Fraction of patches centred on a foreground voxel (default `TRAINING_DEFAULTS.foregroundFraction`, 0.333). */
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
  /**
   * What runs the network (default `tfjs`: the active tfjs backend). `webgpu`: the project's GPU trainer
   * (parameters, gradients and Schedule-Free AdamW state on the GPU; `optimizer` must be `schedulefree`); the
   * checkpoints and resume files are the same files either way.
   */
  engine?: TrainingEngineName;
  /** The GPU device of the webgpu engine (default: one acquired per fold and released after it). */
  device?: GPUDevice;
  /** How the webgpu engine stores the activations kept for the backward pass (default `f32`). */
  activationStorage?: 'f32' | 'f16';
  /** Stops after the current iteration; the last saved checkpoint stays valid. */
  signal?: AbortSignal;
  /**
   * After each step. GPU engines add `gpuIdleMs` (how long the GPU waited for this step's work since the previous
   * step: sampling, upload, encoding; validation and checkpoints between epochs not counted) and `peakBytes` (most
   * GPU bytes allocated at once in the step).
   */
  onIteration?: (e: {
    epoch: number;
    iteration: number;
    iterations: number;
    loss: number;
    gpuIdleMs?: number;
    peakBytes?: number;
  }) => void;
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
