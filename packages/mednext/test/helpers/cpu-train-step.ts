/**
 * The CPU training step (`trainStep` of the file-based loop, tfjs Schedule-Free AdamW through `createOptimizer`) on
 * a model, without the run's files: the reference the GPU trainer is compared with. Also the batches those tests
 * feed both.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  createOptimizer,
  renameOptimizerState,
  type LossFn,
  type MedNeXt,
  type OptimizerState,
} from '../../src/index.js';
import type { FoldRun } from '../../src/training/node/stages/prepare.js';
import { trainStep } from '../../src/training/node/stages/train-step.js';

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
  private readonly run: FoldRun;
  private readonly officialToVariable: Map<string, string>;
  private steps = 0;

  constructor(
    readonly model: MedNeXt,
    s: CpuStepSettings,
  ) {
    const optimizer = createOptimizer({
      kind: 'schedulefree',
      learningRate: s.learningRate,
      weightDecay: s.weightDecay,
    });
    const names = s.trainable ? new Set(s.trainable) : undefined;
    const trainable: tf.Variable[] = names
      ? [...model.params].filter(([n]) => names.has(n)).map(([, v]) => v)
      : model.trainableVariables();
    const cfg = model.architecture.config;
    this.run = {
      options: { patchSize: s.patchSize, batchSize: s.batchSize },
      task: { modalities: new Array(cfg.inChannels).fill('m'), regions: new Array(cfg.nClasses).fill('r') },
      model,
      deepSupervision: s.deepSupervision,
      lossFn: s.lossFn,
      optimizer,
      trainable,
      trainableNames: new Set(trainable.map((v) => v.name)),
      variableToOfficial: new Map([...model.params].map(([name, v]) => [v.name, name])),
    } as unknown as FoldRun;
    this.officialToVariable = new Map([...model.params].map(([name, v]) => [name, v.name]));
  }

  train(): void {
    this.run.optimizer.train();
  }

  eval(): void {
    this.run.optimizer.eval();
  }

  /** One `trainStep`; returns the loss. */
  step(batch: { x: Float32Array; y: Float32Array }): Promise<number> {
    return trainStep(this.run, batch, { epoch: 0, iteration: this.steps++ });
  }

  /** The optimizer state as the resume file holds it (official names). */
  async saveState(): Promise<OptimizerState> {
    return renameOptimizerState(await this.run.optimizer.saveState(), this.run.variableToOfficial);
  }

  async loadState(state: OptimizerState): Promise<void> {
    await this.run.optimizer.loadState(renameOptimizerState(state, this.officialToVariable));
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
    this.run.optimizer.dispose();
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
