/**
 * The one hook through which a fold's training stages run the network: an engine takes the training steps,
 * moves between the optimizer's training and evaluation parameters, runs the validation forward passes, and
 * keeps the tfjs model (what checkpoints are written from) in step with its own parameters. The stages around it
 * (sampling, validation scoring, checkpoint files, resume) are the same for every engine.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { PatchPredictor, Shape3 } from '@mednext-ts/tensor3d';
import type { StateDict } from '../../../weights/tensor-map.js';
import type { OptimizerState } from '../../optimizer.js';
import type { Batch } from '../sample-pool.js';

/** Engine names of {@link TrainOptions.engine}: tfjs (the active tfjs backend) or the project's WebGPU trainer. */
export type TrainingEngineName = 'tfjs' | 'webgpu';

/** What one training step reports. */
export interface EngineStepReport {
  /** The (deep-supervision weighted) loss of the batch, before the update. */
  loss: number;
  /**
   * Milliseconds the GPU waited for this step's work since the previous step (waiting for the batch, its upload
   * and encoding; validation and checkpoints between epochs not counted); GPU engines only.
   */
  gpuIdleMs?: number;
  /** Most GPU bytes allocated at once during the step; GPU engines only. */
  peakBytes?: number;
}

/** A network engine a fold trains with (see the module comment). */
export interface TrainingEngine {
  readonly name: TrainingEngineName;
  /**
   * Steps the loop may submit before the oldest reports (1: one at a time). A GPU engine queues a step behind the
   * one running, so the host prepares and encodes it while the GPU computes.
   */
  readonly stepsInFlight: number;
  /** The learning rate in use (logged per epoch). */
  readonly learningRate: number;
  /** Called before the epoch's first step (learning-rate schedules), 0-based. */
  startEpoch(epoch: number, epochs: number): void;
  /** Parameters to the point gradients are taken at (Schedule-Free's y) before training steps. */
  train(): void;
  /** Parameters to the point validated and saved (Schedule-Free's x) before validation and checkpoints. */
  eval(): void;
  /**
   * One training step on a channels-last batch (as `SamplePool.take()` gives it).
   * @throws MedNeXtError `TRAINING_DIVERGED` when the loss is not finite
   */
  step(batch: Batch, where: { epoch: number; iteration: number }): Promise<EngineStepReport>;
  /** Logits of the main head for one channels-last patch `[1, D, H, W, C]`, as `[1, D, H, W, R]` (caller disposes). */
  validationLogits(x: tf.Tensor5D): Promise<tf.Tensor5D>;
  /** A sliding-window predictor (sigmoid probabilities of the main head) on the current parameters. */
  predictor(patchSize: Shape3): PatchPredictor;
  /** Copies the engine's parameters into the tfjs model's variables (after {@link eval}, before checkpoints). */
  syncModel(): Promise<void>;
  /** The optimizer's state under official parameter names (the resume file's form). */
  saveOptimizerState(): Promise<OptimizerState>;
  /**
   * Continues from a resume file: the tfjs model already holds `weights` (the evaluation parameters); the engine
   * takes them and the optimizer `state` (official names).
   */
  restore(weights: StateDict, state: OptimizerState): Promise<void>;
  /** Frees what the engine holds (not the tfjs model). */
  dispose(): void;
}
