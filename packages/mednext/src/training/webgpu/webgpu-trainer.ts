/// <reference types="@webgpu/types" />
/**
 * `createWebGpuTrainer`: MedNeXt training steps on one GPU. The parameters live on the GPU and are updated in
 * place by the Schedule-Free AdamW kernels; a step uploads the channels-last batch and records its layout change
 * (batch.ts), every sample's forward, the batch loss and its gradient (WGSL kernels for the region losses), and
 * every sample's backward into one command buffer, submits it, submits the optimizer update and the refresh of
 * the packed block vectors after it, and reads back only the loss. Submission and readback are separate: the next
 * step may be recorded and submitted while the previous one runs (queue order keeps the results identical).
 */
import { acquireGpuDevice, GpuRuntime, type GpuAdapterSummary, type GpuTensor } from '@mednext-ts/tensor3d/webgpu';
import { WebGPUAdamWScheduleFree } from '@mednext-ts/optim-schedulefree/webgpu';
import { MedNeXtError } from '../../errors.js';
import type { LossFn } from '../../losses/deep-supervision.js';
import { WebGPURegionLoss } from '../../losses/webgpu/webgpu-region-loss.js';
import type { MedNeXt } from '../../model/mednext.js';
import { summarizeDevice, webGpuNetworkOn, type WebGpuNetwork } from '../../network/engines/webgpu/network.js';
import { GpuWeights } from '../../network/engines/webgpu/weights.js';
import type { OptimizerState } from '../optimizer.js';
import { checkBatch, GpuBatchLayout, levelSize, releaseGpuBatch, type GpuBatch } from './batch.js';
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
 * Driving it without stalls: a batch goes to `step()` channels-last, as the sample pool's workers give it (the
 * layout change and the deep-supervision targets are made on the GPU), and a loop calls the next `step()` before
 * awaiting the previous report (see {@link WebGpuTrainer.step}, "Overlapping"); `gpuIdleMs` in each report says how
 * long the GPU waited for the host before that step.
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
 * // One step ahead: the next batch is taken from the worker pool and its step queued behind the running one
 * // before the running one's report is awaited, so the GPU never waits for the loss readback, the pool or the
 * // host's recording of the next step.
 * let running = trainer.step(await pool.take()); // channels-last x and y, as the sampler gives them
 * for (let i = 1; i <= 250; i++) {
 *   const next = i < 250 ? trainer.step(await pool.take()) : undefined;
 *   // When this step fails (a divergence), the step called ahead fails too: settle it before leaving the loop.
 *   const report = await running.catch(async (e: unknown) => {
 *     await next?.catch(() => undefined);
 *     throw e;
 *   });
 *   const { loss, stepMs, gpuIdleMs, peakBytes } = report;
 *   console.log(loss, stepMs, gpuIdleMs, peakBytes);
 *   if (next) running = next;
 * }
 * trainer.eval(); // (after the last report) the weights to validate and save: Schedule-Free's x
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
    const layout = new GpuBatchLayout(rt, shape, lossWeights.length);
    disposers.push(() => layout.dispose());
    return new Trainer({
      device,
      rt,
      weights,
      network,
      params,
      trainedNames,
      optimizer,
      gpuLoss,
      layout,
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
  network: WebGpuNetwork;
  params: TrainedParameters;
  trainedNames: ReadonlySet<string>;
  optimizer: WebGPUAdamWScheduleFree;
  gpuLoss?: WebGPURegionLoss;
  layout: GpuBatchLayout;
  settings: TrainerSettings;
  model: MedNeXt;
  summary: GpuAdapterSummary;
  dispose: () => void;
}

/** Event-loop turns a step queued behind a running one gives that one's completion to be delivered. */
const COMPLETION_TURNS = 4;

/** One turn of the event loop (Dawn's Node binding delivers GPU callbacks from `setImmediate` ticks). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
  );
}

/** A step whose work is on the GPU queue. */
interface SubmittedStep {
  /** The step call's index (1-based). */
  index: number;
  /** When its first command buffer was submitted. */
  firstSubmission: number;
  /** Most GPU bytes allocated while it was recorded (its activations, gradients, the outside buffers). */
  peakBytes: number;
  /** Its loss, once its work (and all work submitted before) has run; rejects with a device error. */
  loss: Promise<number>;
}

/** 4-byte MAP_READ buffers for the losses of the steps in flight, reused once read. */
class ReadbackPool {
  private readonly free: GPUBuffer[] = [];
  private readonly all: GPUBuffer[] = [];
  constructor(private readonly device: GPUDevice) {}

  take(): GPUBuffer {
    const b = this.free.pop();
    if (b) return b;
    const fresh = this.device.createBuffer({ size: 4, usage: 0x1 /* MAP_READ */ | 0x8 /* COPY_DST */ });
    this.all.push(fresh);
    return fresh;
  }

  give(b: GPUBuffer): void {
    this.free.push(b);
  }

  dispose(): void {
    for (const b of this.all) b.destroy();
    this.all.length = 0;
    this.free.length = 0;
  }
}

/**
 * The loss of a submitted step: the recording's device errors first, then the value (read from `readback`, or
 * the host loss once the queue has run the step's update).
 */
async function readLoss(
  device: GPUDevice,
  recorded: Promise<unknown>,
  readback: GPUBuffer | undefined,
  hostLoss: number | undefined,
  readbacks: ReadbackPool,
): Promise<number> {
  // Both asked before the first await, i.e. before any later step is submitted.
  const mapped = readback?.mapAsync(1 /* READ */);
  const workDone = readback ? undefined : device.queue.onSubmittedWorkDone();
  // Awaited below; a failure meanwhile is not an unhandled rejection.
  mapped?.catch(() => undefined);
  workDone?.catch(() => undefined);
  try {
    await recorded;
  } catch (e) {
    await mapped?.catch(() => undefined);
    if (readback && readback.mapState === 'mapped') readback.unmap();
    if (readback) readbacks.give(readback);
    throw e;
  }
  if (!readback) {
    await workDone;
    return hostLoss as number;
  }
  await mapped;
  const loss = new Float32Array(readback.getMappedRange(), 0, 1)[0]!;
  readback.unmap();
  readbacks.give(readback);
  return loss;
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
  /** Calls queued or running on the runtime, steps until their report. */
  private pending = 0;
  /** Step calls so far (each step's index, 1-based). */
  private stepCalls = 0;
  /** Steps submitted whose report is not out yet. */
  private inFlight = 0;
  /** Step reports in call order: each waits for the previous (the idle time needs its completion). */
  private reports: Promise<unknown> = Promise.resolve();
  /** The step whose loss was not finite, and the last step call made before that was reported. */
  private diverged: { index: number; lastCalled: number } | undefined;
  /** One 4-byte loss readback per step in flight (a buffer being mapped cannot be written by the next step). */
  private readonly readbacks: ReadbackPool;

  /** Supervised head levels (1, or 5 with deep supervision). */
  private readonly levels: number;

  constructor(private readonly p: TrainerParts) {
    this.levels = p.settings.lossWeights.length;
    this.adapter = { description: p.summary.description, limits: p.summary.limits, features: p.summary.features };
    this.software = p.summary.software;
    this.readbacks = new ReadbackPool(p.device);
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
    if (this.disposed) return Promise.reject(new Error('WebGPU trainer: used after dispose()'));
    const index = ++this.stepCalls;
    this.pending++;
    // Submission in call order with the other runtime work; the report waits for the earlier steps' reports
    // (each step's GPU idle time is measured from the previous step's completion).
    const submitted = this.queue.then(() => this.submitStep(batch, index));
    this.queue = submitted.catch(() => undefined);
    const report = this.reports.then(() => submitted).then((s) => this.completeStep(s));
    this.reports = report.catch(() => undefined);
    return report.finally(() => this.pending--);
  }

  /**
   * Records and submits one step (the serial part): after it, the step's work is on the GPU queue and its
   * buffers are back in the pool, so the next call can record behind it while the GPU runs it.
   */
  private async submitStep(batch: { x: Float32Array; y: Float32Array }, index: number): Promise<SubmittedStep> {
    const { rt, device, weights, model, settings, optimizer, gpuLoss, params, trainedNames, layout } = this.p;
    const { shape } = settings;
    if (optimizer.mode !== 'train') {
      throw new MedNeXtError(
        'TRAINING_SETTING',
        'WebGPU trainer: step() in eval mode; call train() before training steps (a new trainer starts in eval ' +
          'mode, as the CPU optimizer does)',
      );
    }
    checkBatch(batch, shape);
    // A step queued behind one still running: a few turns of the event loop deliver a completion already
    // reached, so the previous step's end is not timed after this step's recording (on a backend whose submit
    // runs the work at once, as Dawn's OpenGL backend does, it already has ended). Microseconds on a GPU still
    // busy with it.
    for (let turn = 0; turn < COMPLETION_TURNS && this.inFlight > 0; turn++) await nextTurn();
    if (this.disposed) throw new Error('WebGPU trainer: disposed while the step was queued');
    if (this.queuedBehindDivergence(index)) {
      throw new MedNeXtError(
        'TRAINING_DIVERGED',
        `WebGPU trainer: step call ${index} was queued behind step call ${this.diverged!.index}, whose loss was ` +
          'not finite; not run (the parameters are those of the diverged step); lower the learning rate',
      );
    }
    const arch = model.architecture;
    rt.resetPeak();
    // Uploads first (as the sampler gives them; the layout change is recorded on the GPU): the runtime then
    // reuses pooled buffers for them.
    let gpuBatch: GpuBatch = { inputs: [], targets: [] };
    const temporaries: GpuTensor[] = [];
    let records: SampleRecord[] = [];
    let grads = new Map<string, GpuTensor>();
    let firstSubmission: number | undefined;
    let recorded: Promise<unknown> | undefined;
    let hostLoss: number | undefined;
    try {
      gpuBatch = layout.record(batch, gpuLoss !== undefined);
      records = recordForwards(
        rt,
        weights,
        arch,
        gpuBatch.inputs,
        this.p.settings.deepSupervision,
        this.p.settings.activationStorage,
      );
      let gradHeads: Map<number, GpuTensor>[];
      if (gpuLoss) {
        const recorded = recordBatchedLoss(rt, gpuLoss, records, gpuBatch.targets);
        temporaries.push(...recorded.temporaries);
        gradHeads = recorded.gradHeads;
      } else {
        // A host loss: the logits go to the host and the gradients come back (one round trip per step, which
        // a following step cannot overlap).
        firstSubmission = performance.now();
        const data = await rt.finish(records.flatMap((r) => r.heads.map((h) => h.tensor)));
        const logits = records.map((_, n) => data.slice(n * this.levels, (n + 1) * this.levels));
        const lossFn = (settings.loss as { host: LossFn }).host;
        const result = hostLossGradients(lossFn, logits, batch.y, shape, settings.lossWeights);
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
      recorded = rt.finish();
      optimizer.step(update);
      const encoder = device.createCommandEncoder({ label: 'WebGPU trainer: vectors, loss' });
      params.recordVectorRefresh(encoder, trainedNames);
      const readback = gpuLoss ? this.readbacks.take() : undefined;
      if (gpuLoss) encoder.copyBufferToBuffer(gpuLoss.losses, this.levels * 4, readback!, 0, 4);
      device.queue.submit([encoder.finish()]);
      // Asked now, answered when the GPU gets there: a later step's work queues behind this one.
      const loss = readLoss(device, recorded, readback, hostLoss, this.readbacks);
      loss.catch(() => undefined); // handled by completeStep; not an unhandled rejection meanwhile
      this.inFlight++;
      return { index, firstSubmission, peakBytes: this.notePeak(), loss };
    } catch (e) {
      // Let a submitted recording finish its error scopes before the runtime records again.
      await recorded?.catch(() => undefined);
      await rt.abort();
      releaseRecords(rt, records);
      throw e;
    } finally {
      // Submitted (or abandoned) work only: the pool hands these to the next step, whose commands run after.
      releaseGpuBatch(rt, gpuBatch);
      for (const t of temporaries) rt.release(t);
      for (const g of grads.values()) rt.release(g);
    }
  }

  /**
   * Whether step call `index` was made before the divergence of an earlier step was reported: its caller could
   * not know. Calls made after the report run as usual (e.g. after a resume with writeWeights and loadState).
   */
  private queuedBehindDivergence(index: number): boolean {
    const d = this.diverged;
    return d !== undefined && index > d.index && index <= d.lastCalled;
  }

  /** Waits for a submitted step's loss and reports it (steps complete in submission order). */
  private async completeStep(s: SubmittedStep): Promise<WebGpuStepReport> {
    let loss: number;
    try {
      loss = await s.loss;
    } finally {
      this.inFlight--;
    }
    const done = performance.now();
    // Zero when this step was on the queue before the previous one was seen to end.
    const idle = this.lastDone === undefined ? 0 : Math.max(0, s.firstSubmission - this.lastDone);
    this.lastDone = done;
    if (this.queuedBehindDivergence(s.index)) {
      throw new MedNeXtError(
        'TRAINING_DIVERGED',
        `WebGPU trainer: step call ${s.index} was queued behind step call ${this.diverged!.index}, whose loss was ` +
          'not finite, and has run on the diverged parameters (its update has been applied too); lower the ' +
          'learning rate',
      );
    }
    if (!Number.isFinite(loss)) {
      this.diverged = { index: s.index, lastCalled: this.stepCalls };
      throw new MedNeXtError(
        'TRAINING_DIVERGED',
        `WebGPU trainer: the loss is ${loss} (the step's update has been applied); lower the learning rate`,
      );
    }
    return { loss, stepMs: done - s.firstSubmission, gpuIdleMs: idle, peakBytes: s.peakBytes };
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
    this.readbacks.dispose();
    this.p.dispose();
  }
}
