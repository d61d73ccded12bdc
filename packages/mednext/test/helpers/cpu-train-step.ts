/**
 * The CPU training step (the tfjs engine of the file-based loop, `TfjsTrainingEngine`: tfjs autograd and
 * Schedule-Free AdamW through `createOptimizer`) on a model, without the run's files: the reference the GPU
 * trainer is compared with. Also the batches those tests feed both.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LossFn, MedNeXt, OptimizerState } from '../../src/index.js';
import { TfjsTrainingEngine } from '../../src/training/node/engines/tfjs.js';
import type { TrainOptions } from '../../src/training/node/train-options.js';

/** What the CPU reference needs. */
export interface CpuStepSettings {
  patchSize: [number, number, number];
  batchSize: number;
  deepSupervision: boolean;
  lossFn: LossFn;
  learningRate: number;
  weightDecay: number;
  /** Official names to train (default all). */
  trainable?: readonly string[];
}

/** A model training on the CPU exactly as `trainFold` does, step by step. */
export class CpuTrainer {
  private readonly engine: TfjsTrainingEngine;
  private steps = 0;

  constructor(
    readonly model: MedNeXt,
    s: CpuStepSettings,
  ) {
    const names = s.trainable ? new Set(s.trainable) : undefined;
    const trainable: tf.Variable[] = names
      ? [...model.params].filter(([n]) => names.has(n)).map(([, v]) => v)
      : model.trainableVariables();
    const cfg = model.architecture.config;
    this.engine = new TfjsTrainingEngine({
      options: {
        patchSize: s.patchSize,
        batchSize: s.batchSize,
        optimizer: 'schedulefree',
        learningRate: s.learningRate,
        weightDecay: s.weightDecay,
      } as TrainOptions,
      model,
      trainable,
      deepSupervision: s.deepSupervision,
      lossFn: s.lossFn,
      modalities: cfg.inChannels,
      regions: cfg.nClasses,
    });
  }

  train(): void {
    this.engine.train();
  }

  eval(): void {
    this.engine.eval();
  }

  /** One training step of the tfjs engine; returns the loss. */
  async step(batch: { x: Float32Array; y: Float32Array }): Promise<number> {
    return (await this.engine.step(batch, { epoch: 0, iteration: this.steps++ })).loss;
  }

  /** The optimizer state as the resume file holds it (official names). */
  saveState(): Promise<OptimizerState> {
    return this.engine.saveOptimizerState();
  }

  /** Restores a state under official names (the model's weights are the caller's: see {@link setWeights}). */
  loadState(state: OptimizerState): Promise<void> {
    return this.engine.restore(new Map(), state);
  }

  /** The model's parameters by official name. */
  weights(): Map<string, Float32Array> {
    return new Map([...this.model.params].map(([name, v]) => [name, v.dataSync() as Float32Array]));
  }

  /** Replaces the model's parameters. */
  setWeights(weights: ReadonlyMap<string, Float32Array>): void {
    for (const [name, v] of this.model.params) {
      const data = weights.get(name);
      if (!data) continue;
      if (data.length !== v.size) throw new Error(`setWeights: ${name} has ${v.size} values, got ${data.length}`);
      tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
    }
  }

  dispose(): void {
    this.engine.dispose();
  }
}

/** A deterministic channels-last batch: inputs of mixed frequencies, targets of nested boxes (regions 0/1). */
export function syntheticBatch(
  batch: number,
  spatial: readonly [number, number, number],
  modalities: number,
  regions: number,
  seed: number,
): { x: Float32Array; y: Float32Array } {
  const [D, H, W] = spatial;
  const x = new Float32Array(batch * D * H * W * modalities);
  const y = new Float32Array(batch * D * H * W * regions);
  let i = 0;
  let j = 0;
  for (let n = 0; n < batch; n++) {
    for (let z = 0; z < D; z++) {
      for (let r = 0; r < H; r++) {
        for (let c = 0; c < W; c++) {
          for (let m = 0; m < modalities; m++) {
            x[i++] =
              Math.sin(0.37 * z + 0.21 * r * (m + 1) + 0.13 * c + seed + n) + 0.3 * Math.cos(0.9 * (z + c) * (m + 2));
          }
          const d = Math.max(Math.abs(z - D / 2 - n), Math.abs(r - H / 2), Math.abs(c - W / 2 + (seed % 3)));
          for (let k = 0; k < regions; k++) y[j++] = d < (D / 2) * (0.7 - 0.2 * k) ? 1 : 0;
        }
      }
    }
  }
  return { x, y };
}
