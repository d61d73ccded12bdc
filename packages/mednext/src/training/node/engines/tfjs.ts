/**
 * The tfjs training engine: tfjs autograd on the active tfjs backend and the optimizers of `training/optimizer.ts`
 * (Schedule-Free AdamW, AdamW with a poly or cosine schedule). The model's variables are the parameters, so there
 * is nothing to copy before checkpoints.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PatchPredictor, Shape3 } from '@mednext-ts/tensor3d';
import { MedNeXtError } from '../../../errors.js';
import { mednextPredictor } from '../../../inference/predictor.js';
import { deepSupervisionLoss, deepSupervisionWeights, targetPyramid } from '../../../losses/deep-supervision.js';
import type { StateDict } from '../../../weights/tensor-map.js';
import { createOptimizer, renameOptimizerState, type OptimizerState, type TrainingOptimizer } from '../../optimizer.js';
import type { Batch } from '../sample-pool.js';
import type { EngineSetup } from './setup.js';
import type { EngineStepReport, TrainingEngine } from './types.js';

/** Training with tfjs autograd (see the module comment). */
export class TfjsTrainingEngine implements TrainingEngine {
  readonly name = 'tfjs' as const;
  /** tfjs runs a step to its end before the next. */
  readonly stepsInFlight = 1;
  private readonly optimizer: TrainingOptimizer;
  private readonly trainableNames: Set<string>;
  /** tfjs variable name -> official parameter name (optimizer state is stored under the official names). */
  private readonly variableToOfficial: Map<string, string>;

  constructor(private readonly setup: EngineSetup) {
    const { options, model } = setup;
    this.optimizer = createOptimizer({
      kind: options.optimizer,
      learningRate: options.learningRate,
      weightDecay: options.weightDecay,
      warmupSteps: options.warmupSteps,
    });
    this.trainableNames = new Set(setup.trainable.map((v) => v.name));
    this.variableToOfficial = new Map([...model.params].map(([name, v]) => [v.name, name]));
  }

  get learningRate(): number {
    return this.optimizer.learningRate;
  }

  startEpoch(epoch: number, epochs: number): void {
    this.optimizer.startEpoch(epoch, epochs);
  }

  train(): void {
    this.optimizer.train();
  }

  eval(): void {
    this.optimizer.eval();
  }

  /** Forward with deep supervision, loss, gradients of the trainable variables, optimizer update. */
  async step(batch: Batch, where: { epoch: number; iteration: number }): Promise<EngineStepReport> {
    const { options, model, deepSupervision, lossFn } = this.setup;
    const [px, py, pz] = options.patchSize;
    const x = tf.tensor5d(batch.x, [options.batchSize, px, py, pz, this.setup.modalities]);
    const y = tf.tensor5d(batch.y, [options.batchSize, px, py, pz, this.setup.regions]);
    const targets = deepSupervision ? targetPyramid(y, 5) : [y];
    const { value, grads } = tf.variableGrads(() => {
      const outputs = model.forward(x, { training: true, deepSupervision });
      return deepSupervisionLoss(outputs, targets, lossFn, deepSupervision ? deepSupervisionWeights(5) : [1]);
    }, this.setup.trainable);
    for (const name of Object.keys(grads)) if (!this.trainableNames.has(name)) delete grads[name];
    this.optimizer.applyGradients(grads);
    const loss = (await value.data())[0]!;
    tf.dispose([x, y, value, ...targets, ...Object.values(grads)]);
    if (!Number.isFinite(loss))
      throw new MedNeXtError(
        'TRAINING_DIVERGED',
        `epoch ${where.epoch} iteration ${where.iteration}: the loss is ${loss}; lower the learning rate`,
      );
    return { loss };
  }

  async validationLogits(x: tf.Tensor5D): Promise<tf.Tensor5D> {
    const [logits, ...rest] = this.setup.model.forward(x, { training: false, deepSupervision: false });
    tf.dispose(rest);
    return logits as tf.Tensor5D;
  }

  predictor(patchSize: Shape3): PatchPredictor {
    return mednextPredictor(this.setup.model, patchSize);
  }

  async syncModel(): Promise<void> {
    // The model's variables are the parameters.
  }

  async saveOptimizerState(): Promise<OptimizerState> {
    return renameOptimizerState(await this.optimizer.saveState(), this.variableToOfficial);
  }

  async restore(_weights: StateDict, state: OptimizerState): Promise<void> {
    const officialToVariable = new Map([...this.setup.model.params].map(([name, v]) => [name, v.name]));
    await this.optimizer.loadState(renameOptimizerState(state, officialToVariable));
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
