/// <reference types="@webgpu/types" />
/**
 * The buffer and pipeline layer under the WGSL kernels: f32 tensors in storage buffers (sized below the device's
 * binding limit, reused through a pool), pipelines compiled once per device and shared by every runtime on it
 * (see `pipeline-cache.ts`), and dispatches recorded into one command encoder until {@link GpuRuntime.finish}
 * submits it and reads results back.
 */
import { compiledKernel, kernelVariant, type CompiledKernel, type KernelVariant } from './pipeline-cache.js';
import {
  packParams,
  MAX_WORKGROUPS_PER_DIMENSION,
  type KernelDefinition,
  type ParamDecl,
  type ParamValues,
} from './kernel.js';

/** A flat f32 array in a GPU storage buffer. */
export interface GpuTensor {
  readonly buffer: GPUBuffer;
  /** Number of f32 elements. */
  readonly length: number;
  /** Label (for errors and debugging). */
  readonly label: string;
}

/** Raised when a tensor does not fit one storage binding of the device. */
export class GpuCapacityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuCapacityError';
  }
}

/** Bytes as MiB with enough digits for small limits. */
export function mebibytes(bytes: number): string {
  const mib = bytes / 2 ** 20;
  return `${mib >= 10 ? mib.toFixed(0) : mib.toPrecision(3)} MiB`;
}

const TENSOR_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8; /* COPY_DST */

/** Owns the buffers, uniforms and the open command encoder of one device (pipelines are shared per device). */
export class GpuRuntime {
  readonly device: GPUDevice;
  /** Largest storage binding the device accepts, in bytes. */
  readonly maxBindingBytes: number;
  /** This runtime's view of the device's shared pipelines (saves the shared lookup per dispatch). */
  private readonly pipelines = new Map<KernelVariant, CompiledKernel>();
  private compiled = 0;
  private readonly uniforms = new Map<string, GPUBuffer>();
  private readonly pool = new Map<number, GPUBuffer[]>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private allocated = 0;
  private peak = 0;
  private dispatches = 0;

  /**
   * @param options.maxBindingBytes a binding limit below the device's (tensors above it are refused by
   *   {@link tensor}; callers that split into channel groups split below it). Tests use it to exercise the split
   *   on small shapes.
   */
  constructor(device: GPUDevice, options: { maxBindingBytes?: number } = {}) {
    this.device = device;
    const deviceLimit = device.limits.maxStorageBufferBindingSize;
    const requested = options.maxBindingBytes ?? deviceLimit;
    if (!Number.isInteger(requested) || requested < 4) {
      throw new Error(`GpuRuntime: maxBindingBytes must be an integer of at least 4 bytes, got ${requested}`);
    }
    this.maxBindingBytes = Math.min(requested, deviceLimit);
  }

  /** Bytes currently allocated in buffers (tensors, pooled buffers, parameter uniforms). */
  get allocatedBytes(): number {
    return this.allocated;
  }

  /** Most bytes ever allocated at once. */
  get peakBytes(): number {
    return this.peak;
  }

  /**
   * Starts a new peak measurement: {@link peakBytes} becomes what is allocated now (a trainer reports the peak
   * of each step this way).
   */
  resetPeak(): void {
    this.peak = this.allocated;
  }

  /** Dispatches recorded since the runtime was created. */
  get dispatchCount(): number {
    return this.dispatches;
  }

  /**
   * Pipelines this runtime compiled itself; a kernel variant another runtime on the same device already compiled
   * is reused and not counted.
   */
  get pipelinesCompiled(): number {
    return this.compiled;
  }

  private count(bytes: number): void {
    this.allocated += bytes;
    this.peak = Math.max(this.peak, this.allocated);
  }

  /**
   * A tensor of `length` f32 elements, from the pool when a buffer of that size is free. Contents are undefined.
   * @throws GpuCapacityError when it would exceed the device's storage binding limit
   */
  tensor(length: number, label: string): GpuTensor {
    return this.allocate(length, label, true);
  }

  private allocate(length: number, label: string, pooled: boolean): GpuTensor {
    if (!Number.isInteger(length) || length <= 0) throw new Error(`GPU tensor '${label}': bad length ${length}`);
    const bytes = length * 4;
    if (bytes > this.maxBindingBytes) {
      throw new GpuCapacityError(
        `GPU tensor '${label}' needs ${mebibytes(bytes)}, above the storage binding limit of ` +
          `${mebibytes(this.maxBindingBytes)} (maxStorageBufferBindingSize, or the runtime's maxBindingBytes); ` +
          'split it into channel groups or use a smaller patch',
      );
    }
    const reused = pooled ? this.pool.get(bytes)?.pop() : undefined;
    if (reused) return { buffer: reused, length, label };
    const buffer = this.device.createBuffer({ size: bytes, usage: TENSOR_USAGE, label });
    this.count(bytes);
    return { buffer, length, label };
  }

  /**
   * A tensor holding `data`. The write reaches the GPU before any work submitted later, i.e. before the commands
   * being recorded now; so while recording, a fresh buffer is used, never a pooled one those commands may write.
   */
  upload(data: Float32Array, label: string): GpuTensor {
    const t = this.allocate(data.length, label, this.encoder === null);
    this.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return t;
  }

  /**
   * Gives a tensor's buffer back to the pool. Safe while commands using it are still being recorded: recorded
   * work runs in order, so a later kernel that receives the buffer writes it after the earlier readers.
   */
  release(t: GpuTensor): void {
    const bytes = t.length * 4;
    let free = this.pool.get(bytes);
    if (!free) this.pool.set(bytes, (free = []));
    if (!free.includes(t.buffer)) free.push(t.buffer);
  }

  private pipeline(variant: KernelVariant): CompiledKernel {
    let p = this.pipelines.get(variant);
    if (!p) {
      p = compiledKernel(this.device, variant, () => this.compiled++);
      this.pipelines.set(variant, p);
    }
    return p;
  }

  /**
   * The uniform buffer holding `bytes`, created on first use. Keyed by the bytes alone: the buffer is written
   * once at creation and only read, so every kernel whose packed parameters are equal can bind the same one.
   */
  private uniform(key: string, bytes: ArrayBuffer): GPUBuffer {
    let u = this.uniforms.get(key);
    if (!u) {
      u = this.device.createBuffer({ size: bytes.byteLength, usage: 0x40 /* UNIFORM */ | 0x8, mappedAtCreation: true });
      new Uint8Array(u.getMappedRange()).set(new Uint8Array(bytes));
      u.unmap();
      this.uniforms.set(key, u);
      this.count(bytes.byteLength);
    }
    return u;
  }

  /** Opens a command encoder (and error scopes) if none is open. */
  begin(): void {
    if (this.encoder) return;
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.encoder = this.device.createCommandEncoder();
    this.pass = this.encoder.beginComputePass();
  }

  /**
   * Records one dispatch of `def` with `groups` workgroups.
   * @param consts compile-time constants the source is specialised on
   * @param params uniform parameter values (typed from the declaration)
   * @param bindings one tensor per storage binding, by name
   */
  run<P extends Record<string, ParamDecl>, K>(
    def: KernelDefinition<P, K>,
    consts: K,
    params: ParamValues<P>,
    bindings: Record<string, GpuTensor>,
    groups: number,
  ): void {
    if (groups <= 0) return;
    this.begin();
    const variant = kernelVariant(def, consts);
    const { pipeline, layout } = this.pipeline(variant);
    const bytes = packParams(def.params, params);
    const key = new Uint32Array(bytes).join(',');
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.uniform(key, bytes) } }];
    const decls = variant.bindings;
    if (decls.length > this.device.limits.maxStorageBuffersPerShaderStage) {
      throw new GpuCapacityError(
        `kernel ${def.name}: ${decls.length} storage buffers, this device allows ${this.device.limits.maxStorageBuffersPerShaderStage}`,
      );
    }
    for (let i = 0; i < decls.length; i++) {
      const t = bindings[decls[i].name];
      if (!t) throw new Error(`kernel ${def.name}: binding '${decls[i].name}' is missing`);
      entries.push({ binding: i + 1, resource: { buffer: t.buffer, offset: 0, size: t.length * 4 } });
    }
    const bindGroup = this.device.createBindGroup({ layout, entries });
    const pass = this.pass as GPUComputePassEncoder;
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const x = Math.min(groups, MAX_WORKGROUPS_PER_DIMENSION);
    const y = Math.ceil(groups / x);
    if (y > MAX_WORKGROUPS_PER_DIMENSION) throw new GpuCapacityError(`kernel ${def.name}: ${groups} workgroups`);
    pass.dispatchWorkgroups(x, y);
    this.dispatches++;
  }

  /**
   * Records commands of the caller's own (e.g. a loss with its own pipelines, buffer copies) into the open command
   * encoder, in order with the dispatches around them: the current compute pass is closed, `record` gets the
   * encoder, and a new pass is opened for the dispatches that follow. Runs with {@link finish} like the rest.
   */
  encode(record: (encoder: GPUCommandEncoder) => void): void {
    this.begin();
    (this.pass as GPUComputePassEncoder).end();
    this.pass = null;
    const encoder = this.encoder as GPUCommandEncoder;
    try {
      record(encoder);
    } finally {
      this.pass = encoder.beginComputePass();
    }
  }

  /**
   * Submits the recorded work and reads `outputs` back (in order).
   * @throws Error with the device's message when any recorded command was invalid or memory ran out
   */
  async finish(outputs: GpuTensor[] = []): Promise<Float32Array[]> {
    this.begin();
    const encoder = this.encoder as GPUCommandEncoder;
    (this.pass as GPUComputePassEncoder).end();
    const staging = outputs.map((t) => {
      const s = this.device.createBuffer({ size: t.length * 4, usage: 0x1 /* MAP_READ */ | 0x8, label: 'readback' });
      encoder.copyBufferToBuffer(t.buffer, 0, s, 0, t.length * 4);
      return s;
    });
    this.device.queue.submit([encoder.finish()]);
    this.encoder = null;
    this.pass = null;
    // Both scopes popped now, before awaiting: work recorded after this call (while the caller awaits) pushes
    // scopes of its own, which a pop after an await would take instead.
    const validationScope = this.device.popErrorScope();
    const memoryScope = this.device.popErrorScope();
    const [validation, memory] = await Promise.all([validationScope, memoryScope]);
    const error = validation ?? memory;
    if (error) {
      staging.forEach((s) => s.destroy());
      throw new Error(`WebGPU error: ${error.message}`);
    }
    const out: Float32Array[] = [];
    for (const s of staging) {
      await s.mapAsync(1 /* READ */);
      out.push(new Float32Array(s.getMappedRange().slice(0)));
      s.unmap();
      s.destroy();
    }
    return out;
  }

  /**
   * Discards the commands recorded since {@link begin} (after an error while recording), so the runtime can be
   * used again. Tensors handed out meanwhile stay allocated; release them as usual.
   */
  async abort(): Promise<void> {
    if (!this.encoder) return;
    (this.pass as GPUComputePassEncoder).end();
    this.encoder = null;
    this.pass = null;
    await Promise.all([this.device.popErrorScope(), this.device.popErrorScope()]);
  }

  /** Submits pending work and reads one tensor. */
  async read(t: GpuTensor): Promise<Float32Array> {
    return (await this.finish([t]))[0];
  }

  /** Destroys a tensor's buffer now (weights at dispose; it must not be used by unsubmitted work). */
  destroy(t: GpuTensor): void {
    for (const list of this.pool.values()) {
      const i = list.indexOf(t.buffer);
      if (i >= 0) list.splice(i, 1);
    }
    this.allocated -= t.buffer.size;
    t.buffer.destroy();
  }

  /** Destroys pooled buffers and cached uniforms (tensors still held by callers stay valid). */
  trim(): void {
    for (const list of this.pool.values()) {
      for (const b of list) {
        this.allocated -= b.size;
        b.destroy();
      }
    }
    this.pool.clear();
  }

  /** Frees everything the runtime created (the device itself belongs to the caller). */
  dispose(): void {
    this.trim();
    for (const u of this.uniforms.values()) u.destroy();
    this.uniforms.clear();
    this.pipelines.clear();
  }
}
