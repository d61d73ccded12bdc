/// <reference types="@webgpu/types" />
/**
 * `createWebGpuTrainer`: MedNeXt training steps on one GPU. The parameters live on the GPU and are updated in
 * place by the Schedule-Free AdamW kernels; a step records every sample's forward, the batch loss and its gradient
 * (WGSL kernels for the region losses), and every sample's backward into one command buffer, submits it, submits
 * the optimizer update and the refresh of the packed block vectors after it, and reads back only the loss.
 */
import { acquireGpuDevice, GpuRuntime, type GpuAdapterSummary, type GpuTensor } from '@mednext-ts/tensor3d/webgpu';
import { WebGPUAdamWScheduleFree } from '@mednext-ts/optim-schedulefree/webgpu';
import { MedNeXtError } from '../../errors.js';
import { WebGPURegionLoss } from '../../losses/webgpu/webgpu-region-loss.js';
import type { MedNeXt } from '../../model/mednext.js';
import { summarizeDevice, webGpuNetworkOn } from '../../network/engines/webgpu/network.js';
import { releaseValue, uploadSample, type GpuValue } from '../../network/engines/webgpu/values.js';
import { GpuWeights } from '../../network/engines/webgpu/weights.js';
import type { OptimizerState } from '../optimizer.js';
import { checkBatch, levelSize, samplesChannelsFirst, targetPyramidChannelsFirst } from './batch.js';
import { recordBatchedLoss } from './batched-loss.js';
import { hostLossGradients } from './host-loss.js';
import { fromOptimizerState, toOptimizerState } from './optimizer-state.js';
import { checkBindingLimit, resolveTrainerSettings, type TrainerSettings } from './options.js';
import { TrainedParameters } from './parameters.js';
import { recordBackwards, recordForwards, releaseRecords, type SampleRecord } from './sample-passes.js';
import type { WebGpuStepReport, WebGpuTrainer, WebGpuTrainerOptions } from './types.js';

/**
 * Puts `model` on a GPU for training: its parameters are copied to the GPU (the model itself is not changed;
 * {@link WebGpuTrainer.readWeights} gives them back), with Schedule-Free AdamW state for the trainable ones.
 * Like the CPU optimizer, a new trainer is in eval mode: call `train()` before the first step.
 *
 * @example
 * ```ts
 * const model = MedNeXt.create({ ...config, deep_supervision: true }, { seed: 0 });
 * const trainer = await createWebGpuTrainer(model, {
 *   patchSize: [128, 128, 128],
 *   batchSize: 2,
 *   deepSupervision: true,
 *   loss: 'dice-focal',
 *   optimizer: { learningRate: 0.0027, weightDecay: 0.01 },
 * });
 * trainer.train();
 * for (let i = 0; i < 250; i++) {
 *   const { loss, stepMs, peakBytes } = await trainer.step(await pool.take()); // channels-last x and y
 *   console.log(loss, stepMs, peakBytes);
 * }
 * trainer.eval(); // the weights to validate and save: Schedule-Free's x
 * const weights = await trainer.readWeights(); // official names, PyTorch layout
 * const state = await trainer.saveState(); // the CPU trainer's form: resume on either engine
 * trainer.dispose();
 * ```
 * @throws MedNeXtError `TRAINING_SETTING` for a bad option (naming it), `GPU_LIMIT` when a tensor of the patch
 *   cannot be bound
 * @throws GpuUnavailableError when no WebGPU adapter can be had
 */
export async function createWebGpuTrainer(model: MedNeXt, options: WebGpuTrainerOptions): Promise<WebGpuTrainer> {
  const settings = resolveTrainerSettings(model, options);
  const acquired = options.device ? undefined : await acquireGpuDevice();
  const device = options.device ?? (acquired as { device: GPUDevice }).device;
  const summary = acquired?.adapter ?? summarizeDevice(device);
  const rt = new GpuRuntime(device, { maxBindingBytes: options.maxBindingBytes });
  // Freed in reverse order of creation; the runtime last, then the device when the trainer acquired it.
  const disposers: Array<() => void> = [() => rt.dispose()];
  const dispose = (): void => {
    for (const d of disposers.reverse()) d();
    disposers.length = 0;
    if (acquired) device.destroy();
  };
  try {
    checkBindingLimit(model, settings, rt.maxBindingBytes);
    const weights = await GpuWeights.upload(rt, model);
    disposers.push(() => weights.dispose());
    // The validation forward runs through the inference network over the trained weights (freed above).
    const network = webGpuNetworkOn(rt, weights, model, summary, () => undefined);
    const dummy = model.params.get('dummy_tensor');
    const params = new TrainedParameters(
      model,
      weights,
      dummy ? { name: 'dummy_tensor', data: (await dummy.data()) as Float32Array } : undefined,
    );
    const trained = params.list.filter((p) => !settings.trainable || settings.trainable.has(p.name));
    const trainedNames = new Set(trained.map((p) => p.name));
    const { learningRate, weightDecay, warmupSteps } = options.optimizer;
    const optimizer = new WebGPUAdamWScheduleFree(
      device,
      trained.map((p) => ({ name: p.name, buffer: p.tensor.buffer, shape: p.gpuShape })),
      { lr: learningRate, weightDecay, warmupSteps: warmupSteps ?? 0 },
      { maxBindingBytes: rt.maxBindingBytes },
    );
    disposers.push(() => optimizer.dispose());
    const { shape, lossWeights } = settings;
    const gpuLoss =
      'gpu' in settings.loss
        ? new WebGPURegionLoss(
            device,
            { loss: settings.loss.gpu },
            lossWeights.map((_, l) => [shape.batch, shape.regions, ...levelSize(shape.spatial, l)]),
            { layout: 'channels-first', weights: lossWeights },
          )
        : undefined;
    if (gpuLoss) disposers.push(() => gpuLoss.dispose());
    const lossReadback = device.createBuffer({ size: 4, usage: 0x1 /* MAP_READ */ | 0x8 /* COPY_DST */ });
    disposers.push(() => lossReadback.destroy());
    return new Trainer({
      device,
      rt,
      weights,
      network,
      params,
      trainedNames,
      optimizer,
      gpuLoss,
      lossReadback,
      settings,
      model,
      summary,
      dispose,
    });
  } catch (e) {
    dispose();
    throw e;
  }
}

interface TrainerParts {
  device: GPUDevice;
  rt: GpuRuntime;
  weights: GpuWeights;
  network: ReturnType<typeof webGpuNetworkOn>;
  params: TrainedParameters;
  trainedNames: ReadonlySet<string>;
  optimizer: WebGPUAdamWScheduleFree;
  gpuLoss?: WebGPURegionLoss;
  lossReadback: GPUBuffer;
  settings: TrainerSettings;
  model: MedNeXt;
  summary: GpuAdapterSummary;
  dispose: () => void;
}

class Trainer implements WebGpuTrainer {
  readonly adapter: WebGpuTrainer['adapter'];
  readonly software: boolean;
  /** Work on the runtime one call at a time (steps, forwards, reads share its encoder and pool). */
  private queue: Promise<unknown> = Promise.resolve();
  /** When the previous step's work was complete (for the GPU idle time), or undefined before the first. */
  private lastDone: number | undefined;
  private peak = 0;
  private disposed = false;
  /** Calls queued or running on the runtime. */
  private pending = 0;

  /** Supervised head levels (1, or 5 with deep supervision). */
  private readonly levels: number;

  constructor(private readonly p: TrainerParts) {
    this.levels = p.settings.lossWeights.length;
    this.adapter = { description: p.summary.description, limits: p.summary.limits, features: p.summary.features };
    this.software = p.summary.software;
  }

  get learningRate(): number {
    return this.p.optimizer.lr;
  }

  get mode(): 'train' | 'eval' {
    return this.p.optimizer.mode;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new Error('WebGPU trainer: used after dispose()'));
    this.pending++;
    const result = this.queue.then(work).finally(() => this.pending--);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * For the synchronous calls that change the parameters at once (train, eval, writeWeights): refused while a
   * step, forward, read or state call is under way, whose recorded work would see them half-way.
   */
  private idle(what: string): void {
    if (this.disposed) throw new Error('WebGPU trainer: used after dispose()');
    if (this.pending > 0) {
      throw new MedNeXtError(
        'TRAINING_SETTING',
        `WebGPU trainer: ${what}() while ${this.pending} step/forward/read call(s) are under way; await them first`,
      );
    }
  }

  /** GPU bytes outside the runtime's pool: optimizer state, the loss's buffers. */
  private outsideBytes(): number {
    const { optimizer, gpuLoss, params } = this.p;
    let bytes = (gpuLoss?.bytes ?? 0) + 4;
    for (const name of optimizer.stateVariableNames) bytes += 2 * params.get(name).tensor.length * 4;
    return bytes;
  }

  private notePeak(): number {
    const now = this.p.rt.peakBytes + this.outsideBytes();
    this.peak = Math.max(this.peak, now);
    return now;
  }

  step(batch: { x: Float32Array; y: Float32Array }): Promise<WebGpuStepReport> {
    return this.serial(() => this.runStep(batch));
  }

  private async runStep(batch: { x: Float32Array; y: Float32Array }): Promise<WebGpuStepReport> {
    const { rt, device, weights, model, settings, optimizer, gpuLoss, params, trainedNames } = this.p;
    const { shape } = settings;
    if (optimizer.mode !== 'train') {
      throw new MedNeXtError(
        'TRAINING_SETTING',
        'WebGPU trainer: step() in eval mode; call train() before training steps (a new trainer starts in eval ' +
          'mode, as the CPU optimizer does)',
      );
    }
    checkBatch(batch, shape);
    const arch = model.architecture;
    const samples = samplesChannelsFirst(batch.x, shape.batch, shape.spatial, shape.modalities);
    const targets = gpuLoss
      ? targetPyramidChannelsFirst(batch.y, shape.batch, shape.spatial, shape.regions, this.levels)
      : undefined;
    rt.resetPeak();
    // Uploads before any recording: the runtime then reuses pooled buffers for them.
    const inputs: GpuValue[] = samples.map((x) => uploadSample(rt, x, shape.modalities, shape.spatial));
    const temporaries: GpuTensor[] = targets ? targets.map((t, l) => rt.upload(t, `targets out_${l}`)) : [];
    let records: SampleRecord[] = [];
    let grads = new Map<string, GpuTensor>();
    let firstSubmission: number | undefined;
    let recorded: Promise<unknown> | undefined;
    let hostLoss: number | undefined;
    try {
      records = recordForwards(
        rt,
        weights,
        arch,
        inputs,
        this.p.settings.deepSupervision,
        this.p.settings.activationStorage,
      );
      let gradHeads: Map<number, GpuTensor>[];
      if (gpuLoss) {
        const recorded = recordBatchedLoss(rt, gpuLoss, records, temporaries);
        temporaries.push(...recorded.temporaries);
        gradHeads = recorded.gradHeads;
      } else {
        // A host loss: the logits go to the host and the gradients come back (one round trip per step).
        firstSubmission = performance.now();
        const data = await rt.finish(records.flatMap((r) => r.heads.map((h) => h.tensor)));
        const logits = records.map((_, n) => data.slice(n * this.levels, (n + 1) * this.levels));
        const host = 'host' in settings.loss ? settings.loss.host : undefined;
        const result = hostLossGradients(host!, logits, batch.y, shape, settings.lossWeights);
        hostLoss = result.loss;
        gradHeads = result.grads.map((perLevel) => {
          const m = new Map<number, GpuTensor>();
          perLevel.forEach((g, l) => {
            const t = rt.upload(g, `d out_${l}`);
            temporaries.push(t);
            m.set(l, t);
          });
          return m;
        });
      }
      grads = recordBackwards(rt, weights, arch, records, gradHeads);
      records = [];
      // Only the trainable parameters' gradients reach the optimizer, in the model's parameter order (the
      // order the CPU optimizer first sees them, hence the order of the saved state).
      const update: Record<string, GPUBuffer> = {};
      for (const p of params.list) {
        const g = grads.get(p.name);
        if (g && trainedNames.has(p.name)) update[p.name] = g.buffer;
      }
      firstSubmission ??= performance.now();
      const idle = this.lastDone === undefined ? 0 : firstSubmission - this.lastDone;
      recorded = rt.finish();
      optimizer.step(update);
      const encoder = device.createCommandEncoder({ label: 'WebGPU trainer: vectors, loss' });
      params.recordVectorRefresh(encoder, trainedNames);
      if (gpuLoss) encoder.copyBufferToBuffer(gpuLoss.losses, this.levels * 4, this.p.lossReadback, 0, 4);
      device.queue.submit([encoder.finish()]);
      await recorded;
      let loss = hostLoss as number;
      if (gpuLoss) {
        await this.p.lossReadback.mapAsync(1 /* READ */);
        loss = new Float32Array(this.p.lossReadback.getMappedRange().slice(0))[0]!;
        this.p.lossReadback.unmap();
      } else {
        await device.queue.onSubmittedWorkDone();
      }
      const done = performance.now();
      this.lastDone = done;
      const peakBytes = this.notePeak();
      if (!Number.isFinite(loss)) {
        throw new MedNeXtError(
          'TRAINING_DIVERGED',
          `WebGPU trainer: the loss is ${loss} (the step's update has been applied); lower the learning rate`,
        );
      }
      return { loss, stepMs: done - firstSubmission, gpuIdleMs: idle, peakBytes };
    } catch (e) {
      // Let a submitted recording finish its error scopes before the runtime records again.
      await recorded?.catch(() => undefined);
      await rt.abort();
      releaseRecords(rt, records);
      throw e;
    } finally {
      for (const v of inputs) releaseValue(rt, v);
      for (const t of temporaries) rt.release(t);
      for (const g of grads.values()) rt.release(g);
    }
  }

  train(): void {
    this.idle('train');
    this.move(() => this.p.optimizer.train());
  }

  eval(): void {
    this.idle('eval');
    this.move(() => this.p.optimizer.eval());
  }

  /** Moves the parameters between y and x, then rebuilds the packed vectors from the moved ones. */
  private move(change: () => void): void {
    change();
    const encoder = this.p.device.createCommandEncoder({ label: 'WebGPU trainer: vectors' });
    this.p.params.recordVectorRefresh(encoder, this.p.trainedNames);
    this.p.device.queue.submit([encoder.finish()]);
  }

  forward(x: Float32Array, spatial: [number, number, number]): Promise<Float32Array> {
    return this.serial(async () => {
      const [logits] = await this.p.network.forward(x, spatial, { deepSupervision: false });
      this.notePeak();
      return logits!;
    });
  }

  readWeights(): Promise<Map<string, Float32Array>> {
    return this.serial(() => this.p.params.read(this.p.rt));
  }

  writeWeights(weights: ReadonlyMap<string, Float32Array>): void {
    this.idle('writeWeights');
    this.p.params.write(this.p.device, weights);
  }

  saveState(): Promise<OptimizerState> {
    return this.serial(async () => toOptimizerState(await this.p.optimizer.saveState(), this.p.params));
  }

  loadState(state: OptimizerState): Promise<void> {
    return this.serial(async () => {
      const json = fromOptimizerState(state, this.p.params, this.p.optimizer.config as Record<string, unknown>);
      const frozen = json.params.map((q) => q.name).filter((n) => !this.p.trainedNames.has(n));
      if (frozen.length) {
        throw new MedNeXtError(
          'CHECKPOINT_INVALID',
          `WebGPU trainer loadState: the state has optimizer entries for parameters this trainer does not train ` +
            `(${frozen.slice(0, 5).join(', ')}${frozen.length > 5 ? ', ...' : ''})`,
        );
      }
      this.p.optimizer.loadState(json);
    });
  }

  peakBytes(): number {
    return Math.max(this.peak, this.p.rt.peakBytes + this.outsideBytes());
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.p.dispose();
  }
}
