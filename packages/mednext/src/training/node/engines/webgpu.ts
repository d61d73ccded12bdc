/**
 * The WebGPU training engine: parameters, gradients, loss and Schedule-Free AdamW state on one GPU
 * ({@link createWebGpuTrainer}). The tfjs model stays on the host as the checkpoint format's source: after
 * `eval()` the GPU parameters are read back into its variables, so checkpoints and resume files are the same
 * files as the tfjs engine writes, and load anywhere.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PatchPredictor, Shape3 } from '@mednext-ts/tensor3d';
import { MedNeXtError } from '../../../errors.js';
import { webGpuPredictor } from '../../../inference/webgpu-predictor.js';
import { toNcdhw, toNdhwc } from '../../../model/mednext.js';
import { loadStateDict } from '../../../weights/state-dict.js';
import type { StateDict } from '../../../weights/tensor-map.js';
import type { OptimizerState } from '../../optimizer.js';
import { createWebGpuTrainer, type WebGpuTrainer, type WebGpuTrainerOptions } from '../../webgpu/index.js';
import type { Batch } from '../sample-pool.js';
import type { EngineSetup } from './setup.js';
import type { EngineStepReport, TrainingEngine } from './types.js';

/** The losses the GPU trainer runs as WGSL kernels; any other goes through its host-loss path. */
const GPU_LOSSES = new Set(['dice-focal', 'dice-bce']);

/**
 * Checks that the run's settings can train on the WebGPU engine.
 * @throws MedNeXtError `TRAINING_SETTING` for an optimizer other than Schedule-Free AdamW
 */
export function checkWebGpuSettings(options: { optimizer: string }): void {
  if (options.optimizer !== 'schedulefree')
    throw new MedNeXtError(
      'TRAINING_SETTING',
      `--optimizer ${options.optimizer}: the webgpu engine trains with Schedule-Free AdamW only ` +
        `(--optimizer schedulefree); use --backend cpu, wasm or tensorflow for ${options.optimizer}`,
    );
}

/** The logistic function on the host, for the predictor's probabilities. */
function sigmoid(logits: Float32Array): Float32Array {
  return logits.map((z) => 1 / (1 + Math.exp(-z)));
}

/** Training on the GPU trainer (see the module comment). */
export class WebGpuTrainingEngine implements TrainingEngine {
  readonly name = 'webgpu' as const;
  /** The trainer records a step behind the one the GPU runs (its reports come in order). */
  readonly stepsInFlight = 2;

  /** When `eval()` ended a training stretch (validation and checkpoints follow), or undefined while training. */
  private pausedAt: number | undefined;
  /** Milliseconds between `eval()` and the next `train()`, not yet taken off a step's idle time. */
  private pausedMs = 0;

  private constructor(
    private readonly setup: EngineSetup,
    /** The GPU trainer (its adapter is reported by the caller). */
    readonly trainer: WebGpuTrainer,
  ) {}

  /** Uploads the initialised model to a new GPU trainer. */
  static async create(setup: EngineSetup): Promise<WebGpuTrainingEngine> {
    const { options, model, trainable } = setup;
    checkWebGpuSettings(options);
    const officialOf = new Map([...model.params].map(([name, v]) => [v.name, name]));
    const all = trainable.length === model.trainableVariables().length;
    const trainerOptions: WebGpuTrainerOptions = {
      device: options.device,
      patchSize: [...options.patchSize],
      batchSize: options.batchSize,
      deepSupervision: setup.deepSupervision,
      loss: GPU_LOSSES.has(options.loss) ? (options.loss as 'dice-focal' | 'dice-bce') : setup.lossFn,
      optimizer: {
        learningRate: options.learningRate,
        weightDecay: options.weightDecay,
        warmupSteps: options.warmupSteps,
      },
      trainable: all ? undefined : trainable.map((v) => officialOf.get(v.name)!),
      activationStorage: options.activationStorage,
    };
    return new WebGpuTrainingEngine(setup, await createWebGpuTrainer(model, trainerOptions));
  }

  get learningRate(): number {
    return this.trainer.learningRate;
  }

  startEpoch(): void {
    // Schedule-Free has no schedule.
  }

  train(): void {
    if (this.pausedAt !== undefined) this.pausedMs += performance.now() - this.pausedAt;
    this.pausedAt = undefined;
    this.trainer.train();
  }

  eval(): void {
    this.pausedAt ??= performance.now();
    this.trainer.eval();
  }

  async step(batch: Batch, where: { epoch: number; iteration: number }): Promise<EngineStepReport> {
    try {
      const report = await this.trainer.step(batch);
      // The trainer counts from the previous step's end: after an epoch boundary that includes validation and
      // checkpoints, which are not the stalls this figure is for (waiting for batches, encoding).
      const gpuIdleMs = Math.max(0, report.gpuIdleMs - this.pausedMs);
      this.pausedMs = 0;
      return { loss: report.loss, gpuIdleMs, peakBytes: report.peakBytes };
    } catch (error) {
      if (error instanceof MedNeXtError && error.code === 'TRAINING_DIVERGED')
        throw new MedNeXtError(
          'TRAINING_DIVERGED',
          `epoch ${where.epoch} iteration ${where.iteration}: ${error.message}`,
          { cause: error },
        );
      throw error;
    }
  }

  async validationLogits(x: tf.Tensor5D): Promise<tf.Tensor5D> {
    const [, d, h, w] = x.shape;
    const ncdhw = toNcdhw(x);
    const input = (await ncdhw.data()) as Float32Array;
    ncdhw.dispose();
    const logits = await this.trainer.forward(input, [d, h, w]);
    return tf.tidy(() => toNdhwc(tf.tensor5d(logits, [1, this.setup.regions, d, h, w])));
  }

  predictor(patchSize: Shape3): PatchPredictor {
    const forward = async (
      x: Float32Array,
      spatial: [number, number, number],
      options?: { sigmoid?: boolean },
    ): Promise<Float32Array[]> => {
      const logits = await this.trainer.forward(x, spatial);
      return [options?.sigmoid ? sigmoid(logits) : logits];
    };
    return webGpuPredictor({ forward }, patchSize, this.setup.modalities, this.setup.regions);
  }

  async syncModel(): Promise<void> {
    const { model } = this.setup;
    const gpu = await this.trainer.readWeights();
    const sd: StateDict = new Map();
    for (const [name, v] of model.params) {
      const data = gpu.get(name);
      if (data) sd.set(name, { shape: [...v.shape], data });
    }
    loadStateDict(model, sd, { source: 'the GPU trainer' });
  }

  async saveOptimizerState(): Promise<OptimizerState> {
    return this.trainer.saveState();
  }

  async restore(weights: StateDict, state: OptimizerState): Promise<void> {
    // The resume file holds the evaluation parameters (x): the trainer goes to eval mode first, so that the next
    // train() moves from them to y with the restored state, as the uninterrupted run did.
    this.trainer.eval();
    this.trainer.writeWeights(new Map([...weights].map(([name, t]) => [name, t.data])));
    await this.trainer.loadState(state);
  }

  dispose(): void {
    this.trainer.dispose();
  }
}
