/// <reference types="@webgpu/types" />
/**
 * The contract of the GPU trainer: a MedNeXt model whose parameters, gradients, loss and Schedule-Free AdamW state
 * live on one GPU (WebGPU), driven one training step at a time. `createWebGpuTrainer` (webgpu-trainer.ts) builds
 * one; the file-based loop (`trainFold` with `engine: 'webgpu'`) and the GPU benchmark drive it.
 */
import type { LossFn } from '../../losses/deep-supervision.js';
import type { OptimizerState } from '../optimizer.js';

/** Options of `createWebGpuTrainer`. */
export interface WebGpuTrainerOptions {
  /** Run on this device instead of acquiring one (`navigator.gpu` / the `webgpu` package). */
  device?: GPUDevice;
  /** Patch size `[D, H, W]` of every step (each a multiple of 16). */
  patchSize: [number, number, number];
  /** Samples per step (the paper: 2). Samples run through the network one after another; the loss sees the batch. */
  batchSize: number;
  /** Deep supervision: the loss on all five heads with nnU-Net's weights (needs a model built with the DS heads). */
  deepSupervision: boolean;
  /**
   * The loss: `'dice-focal'` (batch Dice + focal, the seed recipe) and `'dice-bce'` run as WGSL kernels; any other
   * {@link LossFn} (a plugin's) runs on the host with tfjs on the read-back logits, its gradient uploaded.
   */
  loss: 'dice-focal' | 'dice-bce' | LossFn;
  /** Schedule-Free AdamW hyper-parameters (the only optimizer on the GPU). */
  optimizer: { learningRate: number; weightDecay: number; warmupSteps?: number };
  /**
   * Official state-dict names of the parameters to update (fine-tuning: the last decoder layers and heads);
   * default every parameter. The others get no optimizer state and never move.
   */
  trainable?: readonly string[];
  /**
   * How the block inputs kept for the backward pass are stored: `'f32'`, or `'f16'` (half the memory, packed two
   * per 32-bit word; the gradients then differ from f32 by f16 rounding). Default `'f32'`.
   */
  activationStorage?: 'f32' | 'f16';
  /** Largest storage binding to use, in bytes (default: the adapter's `maxStorageBufferBindingSize`). */
  maxBindingBytes?: number;
}

/** What one training step reports. */
export interface WebGpuStepReport {
  /** The (weighted deep-supervision) loss of the batch, before the update. */
  loss: number;
  /**
   * Wall-clock milliseconds of the step, from its first submission to the loss being read back. A step
   * submitted behind a running one (see {@link WebGpuTrainer.step}, "Overlapping") counts its wait in the queue
   * too; the time per step of an overlapped loop is the time between its reports.
   */
  stepMs: number;
  /**
   * Milliseconds the GPU sat without work before this step: from the previous step's completion to this step's
   * first submission (host-side batch preparation and encoding); 0 for the first step.
   *
   * Measured on the host: the previous step's completion is when the host learned of it. A step called before
   * the previous report was awaited (see {@link WebGpuTrainer.step}) and submitted while the previous one was
   * still running reports 0: the GPU had it queued. A backend that runs the work inside `submit()` (Dawn's
   * OpenGL backend on llvmpipe) has always finished the previous step by then, so there the idle time is the
   * host's recording of the step whichever way the loop drives it.
   */
  gpuIdleMs: number;
  /** Most GPU bytes allocated at once during this step (weights, optimizer state, activations, gradients). */
  peakBytes: number;
}

/** A MedNeXt model training on a GPU. */
export interface WebGpuTrainer {
  /** The adapter the trainer runs on. */
  readonly adapter: { description: string; limits: Record<string, number>; features: string[] };
  /** Whether that adapter is a CPU rasteriser (llvmpipe, SwiftShader...). */
  readonly software: boolean;
  /** The learning rate in use (logged). */
  readonly learningRate: number;
  /** `'train'` when the GPU parameters hold Schedule-Free's y, `'eval'` when they hold x. */
  readonly mode: 'train' | 'eval';
  /**
   * One training step: forward (recording each block's input), loss and its gradient, backward, optimizer update.
   * @param batch channels-last patches as `SamplePool.take()` gives them: `x` is `[batch, D, H, W, modalities]`,
   *   `y` the region targets `[batch, D, H, W, regions]` (0/1)
   * @throws MedNeXtError `TRAINING_DIVERGED` when the loss is not finite (as on the CPU, the update of that step
   *   has been applied: the run cannot continue from this state); `TRAINING_SETTING` in eval mode; `GPU_INPUT`
   *   when `x` or `y` does not hold the batch's values (the message names the expected shape)
   *
   * Overlapping. `step()` may be called again before the previous promise has settled: the new step is recorded
   * and submitted right behind the previous one (the GPU queue runs them in order, so the results are
   * bit-identical to awaiting each step), and each promise resolves, in call order, with its own report. This
   * keeps the GPU busy while the host reads a loss back, takes the next batch and records the next step: call
   * the next step before awaiting the previous report, keeping one step ahead (more gain nothing and hold more
   * batches). A divergence is reported by the step it happened on; a step called before that report came back
   * rejects with `TRAINING_DIVERGED` too, naming the diverged step: if it was already submitted it has run on
   * the diverged parameters (its update applied), else it was not run. `train()`, `eval()` and `writeWeights()`
   * are refused (`TRAINING_SETTING`) while any step is queued or running; `forward`, `readWeights`,
   * `saveState` and `loadState` wait their turn behind the queued steps (they see the parameters after them).
   * A loss function run on the host (not `'dice-focal'`/`'dice-bce'`) reads the logits back within its step,
   * which the next step cannot overlap.
   */
  step(batch: { x: Float32Array; y: Float32Array }): Promise<WebGpuStepReport>;
  /**
   * Parameters to Schedule-Free's y (before training steps); a no-op in train mode. Like {@link eval} and
   * {@link writeWeights} it changes the parameters at once, so it is refused while a call that returns a promise
   * is still under way.
   */
  train(): void;
  /** Parameters to Schedule-Free's x (before validation and checkpoints); a no-op in eval mode. */
  eval(): void;
  /**
   * The network's logits for one sample with the current GPU parameters (validation).
   * @param x NCDHW with N = 1
   */
  forward(x: Float32Array, spatial: [number, number, number]): Promise<Float32Array>;
  /**
   * The GPU parameters by official name in the PyTorch layout (to save or to copy into the tfjs model), with
   * `dummy_tensor` as the model holds it, so the map is a whole state dict.
   */
  readWeights(): Promise<Map<string, Float32Array>>;
  /**
   * Replaces the GPU parameters (PyTorch layout, official names; a resume file's weights).
   * @throws MedNeXtError `WEIGHTS_MISMATCH` (nothing written) when a parameter is missing, unknown or of the
   *   wrong size
   */
  writeWeights(weights: ReadonlyMap<string, Float32Array>): void;
  /** The optimizer's state under official parameter names, in the form the CPU trainer saves (interchangeable). */
  saveState(): Promise<OptimizerState>;
  /** Restores a state {@link saveState} (or the CPU trainer) saved. */
  loadState(state: OptimizerState): Promise<void>;
  /** Most GPU bytes allocated at once since creation. */
  peakBytes(): number;
  /** Frees the GPU buffers (and the device, when the trainer acquired it). */
  dispose(): void;
}
