/// <reference types="@webgpu/types" />
import {
  createParamsBuffer,
  paramsBytes,
  readBuffer,
  writeParams,
  type KernelDefinition,
  type ParamDecl,
  type ParamValues,
} from '@mednext-ts/tensor3d/webgpu';
import type {
  AdamWScheduleFreeConfig,
  AdamWScheduleFreeOptions,
  SGDScheduleFreeConfig,
  SGDScheduleFreeOptions,
} from '../options.js';
import {
  adamwStepCoefficients,
  advanceSchedule,
  initialGroupScalars,
  sgdStepCoefficients,
  toEvalWeight,
  toTrainWeight,
  type GroupScalars,
  type ScheduleHyperparameters,
  type StepScalars,
} from '../schedule.js';
import { ADAMW_RULES, SGD_RULES, type VariantRules } from '../variant-rules.js';
import { STATE_FORMAT, STATE_VERSION, validateStateJSON, type ScheduleFreeStateJSON } from '../state.js';
import {
  ADAMW_STEP_KERNEL,
  adamwStepUniforms,
  INTERPOLATE_KERNEL,
  interpolateUniforms,
  recordElementwise,
  SGD_STEP_KERNEL,
  sgdStepUniforms,
} from './update-kernels.js';

/** A parameter tensor living in a GPU buffer (float32, C order). */
export interface WebGPUParameter {
  /** Unique name; the key of its gradient in {@link WebGPUScheduleFreeOptimizer.step} and of its saved state. */
  name: string;
  /** The parameter values (y in train mode, x in eval mode); needs STORAGE and COPY_SRC usage. */
  buffer: GPUBuffer;
  /** The tensor's shape; its product is the number of float32 elements used from `buffer`. */
  shape: readonly number[];
}

/**
 * Gradients of one step by parameter name. A missing entry, `null` or `undefined` means "no
 * gradient": that parameter is skipped entirely (no state, no decay, no movement), unlike a
 * zero-filled buffer, exactly as in the tfjs optimizers.
 */
export type WebGPUGradients = Readonly<Record<string, GPUBuffer | null | undefined>>;

/** GPU-side options. */
export interface WebGPUOptimizerOptions {
  /**
   * Largest storage binding in bytes (default and upper bound: the device's
   * `maxStorageBufferBindingSize`); larger tensors are updated in slices of this size.
   */
  maxBindingBytes?: number;
}

interface ParameterEntry {
  param: WebGPUParameter;
  length: number;
  /** Slot name → buffer, created on the parameter's first gradient. */
  slots?: Map<string, GPUBuffer>;
}

/**
 * Schedule-Free optimizers whose per-element updates run as WGSL kernels on a caller's
 * `GPUDevice`. The group scalars (warmup, lr_max, averaging weights, bias correction) are advanced
 * on the host by the same code as the tfjs optimizers, and the state is saved in the same JSON
 * form, so a run can move between the CPU and the GPU optimizer.
 *
 * Every call records and submits its own command buffer; queue order places it after any work
 * submitted earlier (e.g. the backward pass that wrote the gradients).
 */
export abstract class WebGPUScheduleFreeOptimizer<
  C extends ScheduleHyperparameters = ScheduleHyperparameters,
  P extends Record<string, ParamDecl> = Record<string, ParamDecl>,
> {
  /** Group counters (float64), as in the tfjs optimizers. */
  protected group: GroupScalars = initialGroupScalars();
  private readonly params = new Map<string, ParameterEntry>();
  /** Parameter names in the order they first received a gradient (the saved-state order). */
  private readonly stateOrder: string[] = [];
  private readonly stepUniforms: GPUBuffer;
  private readonly moveUniforms: GPUBuffer;
  protected readonly maxBindingBytes: number | undefined;

  /** Slot names, `z` first; the rest start at zero. */
  protected abstract readonly slotNames: readonly string[];
  protected abstract readonly className: string;
  /** This step's uniforms of the update kernel, from the hyper-parameters and the step's scalars. */
  protected abstract stepUniformValues(cfg: C, step: StepScalars): ParamValues<P>;
  /** The update kernel's buffers for one parameter (`param` holds y). */
  protected abstract updateBuffers(
    param: GPUBuffer,
    grad: GPUBuffer,
    slots: ReadonlyMap<string, GPUBuffer>,
  ): Record<string, GPUBuffer>;
  /** The resolved hyper-parameters. */
  private cfg: C;

  protected constructor(
    readonly device: GPUDevice,
    parameters: readonly WebGPUParameter[],
    private readonly stepKernel: KernelDefinition<P, undefined>,
    gpuOptions: WebGPUOptimizerOptions,
    private readonly rules: VariantRules<C>,
    options: Partial<C>,
  ) {
    this.cfg = rules.resolve(options);
    for (const p of parameters) {
      const owner = this.constructor.name;
      if (this.params.has(p.name)) throw new Error(`${owner}: two parameters named "${p.name}"`);
      if (!p.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new Error(`${owner}: parameter "${p.name}" has an invalid shape [${p.shape}]`);
      }
      const length = p.shape.reduce((a, b) => a * b, 1);
      if (p.buffer.size < length * 4) {
        throw new Error(
          `${owner}: parameter "${p.name}" of shape [${p.shape}] needs ${length * 4} bytes, its buffer has ${p.buffer.size}`,
        );
      }
      const needed = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
      if ((p.buffer.usage & needed) !== needed) {
        throw new Error(`${owner}: the buffer of parameter "${p.name}" needs STORAGE and COPY_SRC usage`);
      }
      this.params.set(p.name, { param: p, length });
    }
    this.maxBindingBytes = gpuOptions.maxBindingBytes;
    this.stepUniforms = device.createBuffer({
      label: 'schedulefree step uniforms',
      size: paramsBytes(stepKernel),
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.moveUniforms = createParamsBuffer(device, INTERPOLATE_KERNEL);
  }

  /** The resolved hyper-parameters (a copy). */
  get config(): Readonly<C> {
    return this.rules.copy(this.cfg);
  }

  /** Peak learning rate. May be changed between steps; `lr_max` (and so the averaging weights) never decreases. */
  get lr(): number {
    return this.cfg.lr;
  }
  set lr(value: number) {
    this.cfg = this.rules.resolve({ ...this.cfg, lr: value });
  }

  /** `'train'` when the parameters hold y, `'eval'` when they hold x. */
  get mode(): 'train' | 'eval' {
    return this.group.trainMode ? 'train' : 'eval';
  }

  /** A copy of the group counters. */
  get groupState(): GroupScalars {
    return { ...this.group };
  }

  /** Names of the parameters that have state, in the order they first received a gradient. */
  get stateVariableNames(): string[] {
    return [...this.stateOrder];
  }

  /** The state buffers of a parameter (`z`, and `exp_avg_sq` for AdamW), or undefined before its first gradient. */
  stateBuffers(name: string): ReadonlyMap<string, GPUBuffer> | undefined {
    return this.params.get(name)?.slots;
  }

  /** Switches to train mode (x → y for every parameter with state); a no-op in train mode. */
  train(): void {
    if (this.group.trainMode) return;
    this.moveParameters(toTrainWeight(this.rules.interpolationBeta(this.cfg)));
    this.group.trainMode = true;
  }

  /** Switches to eval mode (y → x); a no-op in eval mode. Call before evaluating, exporting or checkpointing. */
  eval(): void {
    if (!this.group.trainMode) return;
    this.moveParameters(toEvalWeight(this.rules.interpolationBeta(this.cfg)));
    this.group.trainMode = false;
  }

  /**
   * One Schedule-Free step with the gradients in `grads` (float32 buffers of the parameters'
   * shapes, STORAGE usage). Throws in eval mode. The group counters advance even when no
   * parameter has a gradient, as in the reference.
   */
  step(grads: WebGPUGradients): void {
    const owner = this.className;
    if (!this.group.trainMode) {
      throw new Error(
        `${owner}: a step was taken in eval mode. Call optimizer.train() before training steps and ` +
          'optimizer.eval() before evaluation or checkpointing (a new optimizer starts in eval mode).',
      );
    }
    // Validate everything before touching anything.
    const active: Array<{ entry: ParameterEntry; grad: GPUBuffer }> = [];
    for (const [name, grad] of Object.entries(grads)) {
      if (grad == null) continue;
      const entry = this.params.get(name);
      if (!entry) throw new Error(`${owner}.step: gradient for "${name}", which is not a parameter of this optimizer`);
      if (grad.size < entry.length * 4) {
        throw new Error(
          `${owner}.step: gradient for "${name}" holds ${grad.size} bytes, shape [${entry.param.shape}] needs ${entry.length * 4}`,
        );
      }
      if ((grad.usage & GPUBufferUsage.STORAGE) === 0) {
        throw new Error(`${owner}.step: the gradient buffer of "${name}" lacks STORAGE usage`);
      }
      if (grad === entry.param.buffer) {
        throw new Error(`${owner}.step: the gradient of "${name}" is its parameter buffer; the update needs both`);
      }
      active.push({ entry, grad });
    }

    const step = advanceSchedule(this.group, this.cfg);
    writeParams(this.device, this.stepUniforms, this.stepKernel, this.stepUniformValues(this.cfg, step));
    const encoder = this.device.createCommandEncoder({ label: `${owner}.step` });
    // Lazy state: z = a copy of y, the other slots zero (new buffers are zero-filled).
    for (const { entry } of active) {
      if (!entry.slots) {
        entry.slots = this.createSlots(entry);
        encoder.copyBufferToBuffer(entry.param.buffer, 0, entry.slots.get('z')!, 0, entry.length * 4);
        this.stateOrder.push(entry.param.name);
      }
    }
    const pass = encoder.beginComputePass({ label: `${owner}.step` });
    for (const { entry, grad } of active) {
      const buffers = this.updateBuffers(entry.param.buffer, grad, entry.slots!);
      recordElementwise(
        this.device,
        pass,
        this.stepKernel,
        buffers,
        entry.length,
        this.stepUniforms,
        this.maxBindingBytes,
      );
    }
    pass.end();
    this.device.queue.submit([encoder.finish()]);
  }

  /** The optimizer state in the tfjs optimizers' JSON form (`loadState` of either accepts it). */
  async saveState(): Promise<ScheduleFreeStateJSON> {
    const params: ScheduleFreeStateJSON['params'] = [];
    for (const name of this.stateOrder) {
      const entry = this.params.get(name)!;
      const slots: Record<string, number[]> = {};
      for (const slot of this.slotNames) {
        slots[slot] = Array.from(await readBuffer(this.device, entry.slots!.get(slot)!, entry.length));
      }
      params.push({ name, shape: [...entry.param.shape], slots });
    }
    return {
      format: STATE_FORMAT,
      version: STATE_VERSION,
      className: this.className,
      config: this.rules.toOptions(this.cfg),
      group: { ...this.group },
      params,
    };
  }

  /**
   * Restores a saved state (from this class or its tfjs twin). Every saved parameter must be a
   * parameter of this optimizer with the same shape. The parameters themselves are not touched.
   */
  loadState(state: ScheduleFreeStateJSON): void {
    const owner = this.className;
    const s = validateStateJSON(owner, owner, this.slotNames, state);
    for (const p of s.params) {
      const entry = this.params.get(p.name);
      if (!entry) throw new Error(`${owner}.loadState: the state has "${p.name}", which is not a parameter here`);
      if (p.shape.length !== entry.param.shape.length || p.shape.some((d, i) => d !== entry.param.shape[i])) {
        throw new Error(
          `${owner}.loadState: "${p.name}" has shape [${p.shape}] in the state, [${entry.param.shape}] here`,
        );
      }
    }
    this.disposeSlots();
    for (const p of s.params) {
      const entry = this.params.get(p.name)!;
      entry.slots = this.createSlots(entry);
      for (const slot of this.slotNames) {
        this.device.queue.writeBuffer(entry.slots.get(slot)!, 0, Float32Array.from(p.slots[slot]!));
      }
      this.stateOrder.push(p.name);
    }
    this.group = { ...s.group };
  }

  /** Frees the state and uniform buffers (not the parameters). */
  dispose(): void {
    this.disposeSlots();
    this.stepUniforms.destroy();
    this.moveUniforms.destroy();
  }

  private createSlots(entry: ParameterEntry): Map<string, GPUBuffer> {
    const slots = new Map<string, GPUBuffer>();
    for (const slot of this.slotNames) {
      slots.set(
        slot,
        this.device.createBuffer({
          label: `${entry.param.name}/${slot}`,
          // At least 4 bytes: a zero-size buffer cannot be bound.
          size: Math.max(4, entry.length * 4),
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        }),
      );
    }
    return slots;
  }

  private disposeSlots(): void {
    for (const entry of this.params.values()) {
      for (const b of entry.slots?.values() ?? []) b.destroy();
      entry.slots = undefined;
    }
    this.stateOrder.length = 0;
  }

  private moveParameters(w: number): void {
    writeParams(this.device, this.moveUniforms, INTERPOLATE_KERNEL, interpolateUniforms(w));
    const encoder = this.device.createCommandEncoder({ label: `${this.className} train/eval` });
    const pass = encoder.beginComputePass();
    for (const name of this.stateOrder) {
      const entry = this.params.get(name)!;
      recordElementwise(
        this.device,
        pass,
        INTERPOLATE_KERNEL,
        { p: entry.param.buffer, z: entry.slots!.get('z')! },
        entry.length,
        this.moveUniforms,
        this.maxBindingBytes,
      );
    }
    pass.end();
    this.device.queue.submit([encoder.finish()]);
  }
}

/**
 * Schedule-Free AdamW on the GPU, the twin of `AdamWScheduleFree` (same options, same state JSON).
 *
 * @example
 * ```ts
 * const opt = new WebGPUAdamWScheduleFree(device, [{ name: 'w', buffer: wBuffer, shape: [64, 32] }], { lr: 0.0027 });
 * opt.train();
 * opt.step({ w: wGradBuffer }); // after the backward pass wrote wGradBuffer
 * opt.eval(); // wBuffer now holds x, the weights to evaluate and save
 * ```
 */
export class WebGPUAdamWScheduleFree extends WebGPUScheduleFreeOptimizer<
  AdamWScheduleFreeConfig,
  typeof ADAMW_STEP_KERNEL.params
> {
  protected readonly slotNames = ['z', 'exp_avg_sq'] as const;
  protected readonly className = 'AdamWScheduleFree';

  constructor(
    device: GPUDevice,
    parameters: readonly WebGPUParameter[],
    options: AdamWScheduleFreeOptions = {},
    gpuOptions: WebGPUOptimizerOptions = {},
  ) {
    super(device, parameters, ADAMW_STEP_KERNEL, gpuOptions, ADAMW_RULES, options);
  }

  protected stepUniformValues(
    cfg: AdamWScheduleFreeConfig,
    step: StepScalars,
  ): ParamValues<typeof ADAMW_STEP_KERNEL.params> {
    return adamwStepUniforms(adamwStepCoefficients(cfg, step));
  }

  protected updateBuffers(
    param: GPUBuffer,
    grad: GPUBuffer,
    slots: ReadonlyMap<string, GPUBuffer>,
  ): Record<string, GPUBuffer> {
    return { y: param, z: slots.get('z')!, v: slots.get('exp_avg_sq')!, grad };
  }
}

/** Schedule-Free SGD on the GPU, the twin of `SGDScheduleFree` (same options, same state JSON). */
export class WebGPUSGDScheduleFree extends WebGPUScheduleFreeOptimizer<
  SGDScheduleFreeConfig,
  typeof SGD_STEP_KERNEL.params
> {
  protected readonly slotNames = ['z'] as const;
  protected readonly className = 'SGDScheduleFree';

  constructor(
    device: GPUDevice,
    parameters: readonly WebGPUParameter[],
    options: SGDScheduleFreeOptions = {},
    gpuOptions: WebGPUOptimizerOptions = {},
  ) {
    super(device, parameters, SGD_STEP_KERNEL, gpuOptions, SGD_RULES, options);
  }

  protected stepUniformValues(
    cfg: SGDScheduleFreeConfig,
    step: StepScalars,
  ): ParamValues<typeof SGD_STEP_KERNEL.params> {
    return sgdStepUniforms(sgdStepCoefficients(cfg, step));
  }

  protected updateBuffers(
    param: GPUBuffer,
    grad: GPUBuffer,
    slots: ReadonlyMap<string, GPUBuffer>,
  ): Record<string, GPUBuffer> {
    return { y: param, z: slots.get('z')!, grad };
  }
}
