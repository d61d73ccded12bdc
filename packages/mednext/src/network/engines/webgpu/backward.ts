/// <reference types="@webgpu/types" />
/**
 * The whole-network backward pass of the GPU engine, without a second copy of the U-Net walk.
 *
 * The forward runs through {@link walkMedNeXt} over a {@link RecordingEngine}: it forwards every call to a
 * {@link WebGpuEngine} and keeps, per call, the values its backward needs — only the call's input (and the skip
 * of an up block); nothing inside a block is stored (recompute per block, as the official
 * `checkpoint_style: 'outside_block'`). {@link recordBackward} then replays the record in reverse: each block
 * recomputes its conv1 output, GroupNorm statistics and GRN affine from its input and runs the backward
 * kernels; a value used twice (a skip, a decoder output feeding a deep-supervision head) sums its gradients.
 * Parameter gradients come back by official state-dict name, in the PyTorch layout.
 */
import {
  add,
  copyBlock,
  cropStridedKernel,
  depthwiseConv3dFilterGrad,
  depthwiseConv3dInputGrad,
  depthwiseOutputSize,
  frontPaddedAddBackward,
  halfTensor,
  invertedBottleneckBackward,
  packHalf,
  unpackHalf,
  type GpuHalfTensor,
  pointwiseConv3dInputGrad,
  pointwiseConv3dWeightGrad,
  type GpuRuntime,
  type GpuTensor,
} from '@mednext-ts/tensor3d/webgpu';
import type { Architecture, BlockSpec } from '../../../model/architecture.js';
import type { NetworkEngine } from '../../engine.js';
import { WebGpuEngine, type BlockConv } from './engine.js';
import { gpuValue, releaseValue, type GpuValue } from './values.js';
import type { GpuWeights } from './weights.js';
import { MedNeXtError } from '../../../errors.js';

/** One engine call of the forward pass, with the values its backward reads. */
type Step =
  | { op: 'stem'; x: GpuValue; out: GpuValue }
  | { op: 'block' | 'down'; x: GpuValue; b: BlockSpec; out: GpuValue }
  | { op: 'upAdd'; x: GpuValue; b: BlockSpec; skip: GpuValue; out: GpuValue }
  | { op: 'head'; x: GpuValue; level: number; out: GpuValue };

const voxels = (s: readonly number[]): number => s[0] * s[1] * s[2];

/**
 * How the values a {@link RecordingEngine} keeps for the backward pass are stored: `'f32'`, or `'f16'` packed two
 * per 32-bit word ({@link packHalf}: half the memory, on every adapter; the backward then reads them rounded to
 * f16, relative error at most 2⁻¹¹).
 */
export type ActivationStorage = 'f32' | 'f16';

/** Options of {@link RecordingEngine}. */
export interface RecordingOptions {
  /** Storage of the kept values (default `'f32'`). */
  activationStorage?: ActivationStorage;
}

/**
 * A value the record keeps: its f32 tensor while the forward (or one backward step) reads it and, with f16
 * storage, its packed halves from the moment the forward no longer needs it in f32. Reading `tensor` or `parts`
 * while only the halves exist throws: a released buffer is never read by mistake.
 */
class HeldValue implements GpuValue {
  /** The f32 tensor: the original until the value is packed, afterwards a temporary unpacked copy. */
  f32: GpuTensor | undefined;
  /** The packed halves (f16 storage, once the forward no longer needs the f32 tensor). */
  half: GpuHalfTensor | undefined;
  readonly partChannels: number;

  constructor(
    tensor: GpuTensor,
    readonly channels: number,
    readonly size: [number, number, number],
    readonly label: string,
  ) {
    this.f32 = tensor;
    this.partChannels = channels;
  }

  get tensor(): GpuTensor {
    if (!this.f32) {
      throw new Error(
        `WebGPU MedNeXt training: ${this.label} ` +
          (this.half ? 'is held as f16 and was read without being unpacked' : 'was read after it was freed'),
      );
    }
    return this.f32;
  }

  get parts(): readonly GpuTensor[] {
    return [this.tensor];
  }
}

/** Records `copy = x` (the generic strided crop with offset 0, step 1). */
function copyValue(rt: GpuRuntime, x: GpuValue, label: string): GpuValue {
  const [d, h, w] = x.size;
  const out = gpuValue([rt.tensor(x.tensor.length, label)], x.channels, [d, h, w]);
  rt.run(
    cropStridedKernel,
    {},
    { channels: x.channels, srcD: d, srcH: h, srcW: w, outD: d, outH: h, outW: w, offset: 0, step: 1 },
    { source: x.tensor, output: out.tensor },
    Math.ceil(x.tensor.length / 64),
  );
  return out;
}

/**
 * What {@link recordBackward} asks of the record's owner while it walks the record backwards (a
 * {@link RecordingEngine} provides the first three).
 */
export interface BackwardHooks {
  /**
   * Called with each recorded value once no later-recorded work reads it (its producing step's backward is
   * recorded: every consumer came after it in the forward, so before it here), so activations leave the GPU as
   * the backward pass walks down the network.
   */
  free?(v: GpuValue): void;
  /** Makes `v.tensor` readable for the backward of one step (unpacks a value stored in f16). */
  unpack?(v: GpuValue): void;
  /** Ends that step's reads of `v` (releases the unpacked copy). */
  dropUnpacked?(v: GpuValue): void;
  /** Called with a head's loss gradient once the head's backward is recorded (nothing later reads it). */
  gradHeadDone?(level: number, gradient: GpuTensor): void;
}

/**
 * A {@link NetworkEngine} that runs the GPU engine and keeps what the backward pass needs: the input of every
 * call (recompute per block: nothing inside a block is kept). `upAdd` gets a copy of its skip (the forward adds
 * into the skip's memory, and the down block of that level still needs the original).
 *
 * With `activationStorage: 'f16'` a kept value is packed to f16 (its f32 buffer released) as soon as the forward
 * no longer reads it in f32: when the walk releases it, or after the `down` call that reads an encoder output
 * (that skip is read once more, by the up block's add, from a temporary unpacked copy). The backward unpacks
 * each value just before the step that reads it and releases the copy right after ({@link BackwardHooks}).
 *
 * The backward kernels take every tensor in one storage binding and every block on the fused path
 * ({@link WebGpuEngine.planBlock}); a forward that would need channel groups or a split block is refused
 * (`MedNeXtError` `GPU_LIMIT`) before the call that needs them records anything.
 *
 * @example
 * ```ts
 * const recorder = new RecordingEngine(rt, weights, arch, { activationStorage: 'f16' });
 * const heads = walkMedNeXt(arch, recorder, input, { deepSupervision: false });
 * // ... loss gradients gradHeads on the GPU
 * const named = recordBackward(rt, weights, arch, recorder.steps, gradHeads, recorder);
 * ```
 */
export class RecordingEngine implements NetworkEngine<GpuValue>, BackwardHooks {
  readonly name = 'webgpu-recording';
  readonly steps: Step[] = [];
  readonly activationStorage: ActivationStorage;
  private readonly inner: WebGpuEngine;
  private readonly held = new Set<HeldValue>();

  constructor(
    private readonly rt: GpuRuntime,
    weights: Pick<GpuWeights, 'get'>,
    arch: Architecture,
    options: RecordingOptions = {},
  ) {
    const storage = options.activationStorage ?? 'f32';
    if (storage !== 'f32' && storage !== 'f16') {
      throw new MedNeXtError(
        'MODEL_INPUT',
        `WebGPU MedNeXt training: activationStorage must be 'f32' or 'f16', got ${String(storage)}`,
      );
    }
    this.activationStorage = storage;
    this.inner = new WebGpuEngine(rt, weights, arch);
  }

  /** Refuses a value held as channel groups: the backward kernels read every value in one binding. */
  private whole(v: GpuValue, what: string): void {
    if (v instanceof HeldValue || v.parts.length === 1) return;
    throw new MedNeXtError(
      'GPU_LIMIT',
      `WebGPU MedNeXt training: ${what} (${v.channels}x${v.size.join('x')}) exceeds one storage binding ` +
        `(${this.rt.maxBindingBytes} bytes); training needs every tensor in one binding and every block on the ` +
        'fused path at this binding limit: use a smaller patch (or a device with a larger maxStorageBufferBindingSize)',
    );
  }

  /** Refuses a block that would take the split path at the size of its depthwise output. */
  private fused(x: GpuValue, b: BlockSpec, conv: BlockConv): void {
    this.whole(x, `the input of ${b.name}`);
    const size = depthwiseOutputSize(x.size, conv.stride, conv.transposed);
    if (this.inner.planBlock(b, voxels(size)) === 'fused') return;
    throw new MedNeXtError(
      'GPU_LIMIT',
      `WebGPU MedNeXt training: block ${b.name} at ${size.join('x')} would take the split path (its tensors exceed ` +
        `one storage binding of ${this.rt.maxBindingBytes} bytes); training needs every block on the fused path at ` +
        'this binding limit: use a smaller patch (or a device with a larger maxStorageBufferBindingSize)',
    );
  }

  /** Holds `out` for the backward pass; a value in channel groups is released and refused. */
  private keep(out: GpuValue, what: string): GpuValue {
    try {
      this.whole(out, what);
    } catch (e) {
      releaseValue(this.rt, out);
      throw e;
    }
    const held = new HeldValue(out.tensor, out.channels, out.size, what);
    this.held.add(held);
    return held;
  }

  private isHeld(v: GpuValue): v is HeldValue {
    return v instanceof HeldValue && this.held.has(v);
  }

  /** Makes a held value's f32 tensor readable (unpacking a temporary copy when it is stored as halves). */
  unpack(v: GpuValue): void {
    if (v instanceof HeldValue && !v.f32 && !v.half) {
      throw new Error(`WebGPU MedNeXt training: ${v.label} was read after the backward pass freed it`);
    }
    if (!this.isHeld(v) || v.f32) return;
    const half = v.half as GpuHalfTensor;
    const f32 = this.rt.tensor(half.length, `${v.label} (unpacked)`);
    unpackHalf(this.rt, { input: half, output: f32 });
    v.f32 = f32;
  }

  /** Releases the temporary f32 copy of a value stored as halves (recorded after every read of it). */
  dropUnpacked(v: GpuValue): void {
    if (!this.isHeld(v) || !v.half || !v.f32) return;
    this.rt.release(v.f32);
    v.f32 = undefined;
  }

  /** With f16 storage: packs a held value the forward no longer reads in f32 and releases its f32 buffer. */
  private settle(v: GpuValue): void {
    if (this.activationStorage !== 'f16' || !this.isHeld(v)) return;
    if (!v.half) {
      const f32 = v.tensor;
      v.half = halfTensor(this.rt, f32.length, `${v.label} (f16)`);
      packHalf(this.rt, { input: f32, output: v.half });
    }
    this.dropUnpacked(v);
  }

  stem(x: GpuValue): GpuValue {
    this.whole(x, 'the input');
    const out = this.keep(this.inner.stem(x), 'the stem output');
    this.steps.push({ op: 'stem', x, out });
    return out;
  }

  block(x: GpuValue, b: BlockSpec): GpuValue {
    this.unpack(x);
    this.fused(x, b, { stride: 1, transposed: false });
    const out = this.keep(this.inner.block(x, b), `the output of ${b.name}`);
    this.steps.push({ op: 'block', x, b, out });
    this.settle(x);
    return out;
  }

  down(x: GpuValue, b: BlockSpec): GpuValue {
    this.unpack(x);
    this.fused(x, b, { stride: 2, transposed: false });
    const out = this.keep(this.inner.down(x, b), `the output of ${b.name}`);
    this.steps.push({ op: 'down', x, b, out });
    // x is this level's skip: the forward reads it again only in the up block's add, from halves.
    this.settle(x);
    return out;
  }

  upAdd(x: GpuValue, b: BlockSpec, skip: GpuValue): GpuValue {
    this.unpack(x);
    this.fused(x, b, { stride: 2, transposed: true });
    this.whole(skip, `the skip of ${b.name}`);
    this.unpack(skip);
    const sum = copyValue(this.rt, skip, `${b.name}.sum`);
    this.dropUnpacked(skip);
    const out = this.keep(this.inner.upAdd(x, b, sum), `the output of ${b.name}`);
    this.steps.push({ op: 'upAdd', x, b, skip, out });
    this.settle(x);
    return out;
  }

  /** Head outputs are the caller's (not held): they are returned by the walk. */
  head(x: GpuValue, level: number): GpuValue {
    this.unpack(x);
    this.whole(x, `the input of head out_${level}`);
    const out = this.inner.head(x, level);
    try {
      this.whole(out, `head out_${level}`);
    } catch (e) {
      releaseValue(this.rt, out);
      throw e;
    }
    this.steps.push({ op: 'head', x, level, out });
    // A head is a side branch: the walk goes on from x (an up block reads it next) unless it releases it.
    this.dropUnpacked(x);
    return out;
  }

  /** The forward no longer needs `x`: the backward still does, in f16 when so stored. */
  release(x: GpuValue): void {
    this.settle(x);
  }

  /** Frees one recorded value early (the backward pass is done with it); a no-op for values not held. */
  free(v: GpuValue): void {
    if (!this.isHeld(v)) return;
    this.held.delete(v);
    this.releaseHeld(v);
  }

  private releaseHeld(v: HeldValue): void {
    if (v.f32) this.rt.release(v.f32);
    if (v.half) this.rt.release(v.half.words);
    v.f32 = undefined;
    v.half = undefined;
  }

  /** Frees every value the record still holds. */
  dispose(): void {
    this.inner.releaseScratch();
    for (const v of this.held) this.releaseHeld(v);
    this.held.clear();
    this.steps.length = 0;
  }
}

/** A parameter gradient on the GPU and how it becomes the PyTorch-layout tensor(s) of its name(s). */
export interface GradOutput {
  tensor: GpuTensor;
  /** Turns the read-back data into named gradients. */
  emit(data: Float32Array, into: Map<string, Float32Array>): void;
  /**
   * The parameters `tensor` holds the gradient of, in the layout of their GPU weights ({@link GpuWeights}): one
   * name (the tensor is laid out as that weight: the transposed 1x1x1 convs OUT x IN, all else as PyTorch), or
   * two (an [n, 2] interleaved GroupNorm or GRN affine pair: column 0 the first, column 1 the second).
   * {@link parameterGradients} turns them into one tensor per parameter without leaving the GPU.
   */
  params: readonly [string] | readonly [string, string];
}

/**
 * The gradients of a {@link recordBackward} as one GPU tensor per parameter, each in the layout of that
 * parameter's GPU weight (so an optimizer can update the weight with it in place). Pairs are split by two
 * recorded strided copies; their [n, 2] tensor is released. The caller owns (and releases) the returned tensors.
 */
export function parameterGradients(rt: GpuRuntime, outputs: readonly GradOutput[]): Map<string, GpuTensor> {
  const out = new Map<string, GpuTensor>();
  for (const o of outputs) {
    if (o.params.length === 1) {
      out.set(o.params[0], o.tensor);
      continue;
    }
    const n = o.tensor.length / 2;
    o.params.forEach((name, column) => {
      const t = rt.tensor(n, `d ${name}`);
      copyBlock(rt, { src: o.tensor, dst: t, rows: n, cols: 1, srcOffset: column, srcRowLength: 2 });
      out.set(name, t);
    });
    rt.release(o.tensor);
  }
  return out;
}

/** [rows, cols] → [cols, rows]. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** [n, 2] interleaved → the two columns. */
function columns(data: Float32Array): [Float32Array, Float32Array] {
  const n = data.length / 2;
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = data[2 * i];
    b[i] = data[2 * i + 1];
  }
  return [a, b];
}

/**
 * Records the backward pass of a recorded forward into the runtime's open encoder.
 *
 * @param steps the record of {@link RecordingEngine}, in forward order
 * @param gradHeads dL/d(head output) per head level (0 = main), each [n_classes, ...size] channels-first; a
 *   head the forward ran without a gradient here contributes nothing and its parameters get no
 *   gradient entry
 * @param hooks how the record's owner frees, unpacks and releases values as the walk goes down
 *   ({@link BackwardHooks}; pass the {@link RecordingEngine} itself); a function is taken as `free` alone
 * @returns the GPU tensors holding the parameter gradients and how to name them once read back; the caller
 *   reads them (`rt.finish`) and releases them
 */
export function recordBackward(
  rt: GpuRuntime,
  weights: Pick<GpuWeights, 'get'>,
  arch: Architecture,
  steps: readonly Step[],
  gradHeads: ReadonlyMap<number, GpuTensor>,
  hooks: BackwardHooks | ((v: GpuValue) => void) = {},
): GradOutput[] {
  // Called as methods: a RecordingEngine passes itself.
  const on: BackwardHooks = typeof hooks === 'function' ? { free: hooks } : hooks;
  const engine = new WebGpuEngine(rt, weights, arch);
  const w = (name: string): GpuTensor => weights.get(name);
  const grads = new Map<GpuValue, GpuTensor>();
  const outputs: GradOutput[] = [];
  const nClasses = arch.config.nClasses;

  /** A parameter gradient tensor whose read-back data is `name`'s gradient as is. */
  const paramGrad = (name: string, length: number): GpuTensor => {
    const tensor = rt.tensor(length, `d ${name}`);
    outputs.push({ tensor, emit: (data, into) => into.set(name, data), params: [name] });
    return tensor;
  };
  /** A gradient the kernels write [rows, cols] for a parameter stored [cols, rows] (transposed 1x1x1 convs). */
  const transposedGrad = (name: string, rows: number, cols: number): GpuTensor => {
    const tensor = rt.tensor(rows * cols, `d ${name}`);
    outputs.push({ tensor, emit: (data, into) => into.set(name, transpose(data, rows, cols)), params: [name] });
    return tensor;
  };
  /** An [n, 2] gradient tensor whose columns are two parameters (GroupNorm and GRN affine pairs). */
  const pairGrad = (first: string, second: string, n: number): GpuTensor => {
    const tensor = rt.tensor(2 * n, `d ${first}`);
    outputs.push({
      tensor,
      emit: (data, into) => {
        const [a, b] = columns(data);
        into.set(first, a);
        into.set(second, b);
      },
      params: [first, second],
    });
    return tensor;
  };

  /**
   * Adds a contribution to value `v`'s gradient: `write(target, accumulate)` writes (accumulate false, into a
   * fresh tensor) or adds (accumulate true) it.
   */
  const gradInto = (v: GpuValue, write: (target: GpuTensor, accumulate: boolean) => void): void => {
    const existing = grads.get(v);
    if (existing) {
      write(existing, true);
      return;
    }
    const target = rt.tensor(v.channels * voxels(v.size), 'gradient');
    write(target, false);
    grads.set(v, target);
  };
  /** Adds the whole tensor `g` to `v`'s gradient, taking ownership of `g` (recorded after all its reads). */
  const addGrad = (v: GpuValue, g: GpuTensor): void => {
    const existing = grads.get(v);
    if (!existing) {
      grads.set(v, g);
      return;
    }
    const sum = rt.tensor(g.length, 'gradient');
    add(rt, { a: existing, b: g, output: sum });
    rt.release(existing);
    rt.release(g);
    grads.set(v, sum);
  };
  /** Takes `v`'s gradient (the value has no further consumer in reverse order). */
  const takeGrad = (v: GpuValue, what: string): GpuTensor => {
    const g = grads.get(v);
    if (!g) throw new Error(`WebGPU MedNeXt backward: no gradient reached the output of ${what}`);
    grads.delete(v);
    return g;
  };

  /**
   * A MedNeXt block's backward given dy (of its bottleneck output): recomputes conv1, its statistics and GRN,
   * writes every parameter gradient of the block, and adds dx (through conv1) to x's gradient. Returns nothing
   * about the residual: the caller routes dy to it.
   */
  const blockBackward = (x: GpuValue, b: BlockSpec, conv: BlockConv, dy: GpuTensor): void => {
    const n = (s: string): string => `${b.name}.${s}`;
    const E = b.expR * b.cIn;
    const { dw, stats, grnAffine, temporaries } = engine.blockPrologue(x, b, conv);
    const gradDw = rt.tensor(dw.tensor.length, `${b.name} d conv1`);
    invertedBottleneckBackward(rt, {
      input: dw.tensor,
      stats,
      vectors: w(n('vectors')),
      w2: w(n('conv2.weight')),
      w3: w(n('conv3.weight')),
      gradOutput: dy,
      gradInput: gradDw,
      gradNormAffine: pairGrad(n('norm.weight'), n('norm.bias'), b.cIn),
      gradW2: paramGrad(n('conv2.weight'), E * b.cIn),
      gradB2: paramGrad(n('conv2.bias'), E),
      gradW3: paramGrad(n('conv3.weight'), b.cOut * E),
      gradB3: paramGrad(n('conv3.bias'), b.cOut),
      grn: grnAffine
        ? { affine: grnAffine, gamma: w(n('grn_gamma')), gradAffine: pairGrad(n('grn_gamma'), n('grn_beta'), E) }
        : undefined,
      channels: b.cIn,
      expanded: E,
      outChannels: b.cOut,
      voxels: voxels(dw.size),
    });
    for (const t of temporaries) rt.release(t);
    const shape = { channels: b.cIn, inSize: x.size, kernel: b.kernel, ...conv };
    depthwiseConv3dFilterGrad(rt, {
      ...shape,
      input: x.tensor,
      gradOutput: gradDw,
      gradFilter: paramGrad(n('conv1.weight'), b.cIn * b.kernel ** 3),
      gradBias: paramGrad(n('conv1.bias'), b.cIn),
    });
    gradInto(x, (target, accumulate) =>
      depthwiseConv3dInputGrad(rt, {
        ...shape,
        gradOutput: gradDw,
        filter: w(n('conv1.weight')),
        gradInput: target,
        accumulate,
      }),
    );
    rt.release(gradDw);
  };

  try {
    for (let i = steps.length - 1; i >= 0; i--) {
      const s = steps[i];
      // Each step's backward reads its input x only (an up block's skip by size): one value unpacked at a time.
      on.unpack?.(s.x);
      switch (s.op) {
        case 'head': {
          const dOut = gradHeads.get(s.level);
          if (!dOut) break;
          const name = `out_${s.level}.conv_out`;
          const shape = { inChannels: s.x.channels, outChannels: nClasses, inSize: s.x.size };
          pointwiseConv3dWeightGrad(rt, {
            ...shape,
            input: s.x.tensor,
            gradOutput: dOut,
            gradWeight: transposedGrad(`${name}.weight`, nClasses, s.x.channels),
            gradBias: paramGrad(`${name}.bias`, nClasses),
          });
          gradInto(s.x, (target, accumulate) =>
            pointwiseConv3dInputGrad(rt, {
              ...shape,
              gradOutput: dOut,
              weight: w(`${name}.weight`),
              gradInput: target,
              accumulate,
            }),
          );
          on.gradHeadDone?.(s.level, dOut);
          break;
        }
        case 'block': {
          const dy = takeGrad(s.out, s.b.name);
          blockBackward(s.x, s.b, { stride: 1, transposed: false }, dy);
          // The inner residual: dy flows to x unchanged.
          if (s.b.residual) addGrad(s.x, dy);
          else rt.release(dy);
          break;
        }
        case 'down': {
          const dy = takeGrad(s.out, s.b.name);
          blockBackward(s.x, s.b, { stride: 2, transposed: false }, dy);
          if (s.b.residual) {
            const shape = { inChannels: s.b.cIn, outChannels: s.b.cOut, inSize: s.x.size, stride: 2 };
            pointwiseConv3dWeightGrad(rt, {
              ...shape,
              input: s.x.tensor,
              gradOutput: dy,
              gradWeight: paramGrad(`${s.b.name}.res_conv.weight`, s.b.cOut * s.b.cIn),
              gradBias: paramGrad(`${s.b.name}.res_conv.bias`, s.b.cOut),
            });
            gradInto(s.x, (target, accumulate) =>
              pointwiseConv3dInputGrad(rt, {
                ...shape,
                gradOutput: dy,
                weight: w(`${s.b.name}.res_conv.weight`),
                gradInput: target,
                accumulate,
              }),
            );
          }
          rt.release(dy);
          break;
        }
        case 'upAdd': {
          const b = s.b;
          const dt = takeGrad(s.out, b.name);
          const upSize = depthwiseOutputSize(s.x.size, 2, true);
          const dUp = rt.tensor(b.cOut * voxels(upSize), `${b.name} d up`);
          const dRes = b.residual ? rt.tensor(b.cOut * voxels(s.x.size), `${b.name} d res_conv`) : undefined;
          const dFill = b.residual ? rt.tensor(b.cOut, `${b.name} d fill`) : undefined;
          frontPaddedAddBackward(rt, {
            gradTarget: dt,
            gradShifted: dUp,
            gradStrided: dRes,
            gradFill: dFill,
            channels: b.cOut,
            size: s.skip.size,
          });
          if (dRes && dFill) {
            const shape = { inChannels: b.cIn, outChannels: b.cOut, inSize: s.x.size };
            const dBiasGrid = rt.tensor(b.cOut, `${b.name} d res_conv.bias grid`);
            pointwiseConv3dWeightGrad(rt, {
              ...shape,
              input: s.x.tensor,
              gradOutput: dRes,
              gradWeight: transposedGrad(`${b.name}.res_conv.weight`, b.cOut, b.cIn),
              gradBias: dBiasGrid,
            });
            // The transposed res_conv's bias reaches the grid voxels and, as the fill, every other non-front voxel.
            add(rt, { a: dBiasGrid, b: dFill, output: paramGrad(`${b.name}.res_conv.bias`, b.cOut) });
            rt.release(dBiasGrid);
            rt.release(dFill);
            gradInto(s.x, (target, accumulate) =>
              pointwiseConv3dInputGrad(rt, {
                ...shape,
                gradOutput: dRes,
                weight: w(`${b.name}.res_conv.weight`),
                gradInput: target,
                accumulate,
              }),
            );
            rt.release(dRes);
          }
          blockBackward(s.x, b, { stride: 2, transposed: true }, dUp);
          rt.release(dUp);
          // The skip is added unchanged: its gradient is the sum's.
          addGrad(s.skip, dt);
          break;
        }
        case 'stem': {
          const dy = takeGrad(s.out, 'stem');
          pointwiseConv3dWeightGrad(rt, {
            input: s.x.tensor,
            gradOutput: dy,
            gradWeight: paramGrad('stem.weight', arch.config.nChannels * s.x.channels),
            gradBias: paramGrad('stem.bias', arch.config.nChannels),
            inChannels: s.x.channels,
            outChannels: arch.config.nChannels,
            inSize: s.x.size,
          });
          rt.release(dy);
          break;
        }
      }
      on.dropUnpacked?.(s.x);
      if (s.op !== 'head') on.free?.(s.out);
    }
  } catch (e) {
    // Nothing stays allocated after a failed recording (the caller aborts the encoder).
    for (const o of outputs) rt.release(o.tensor);
    throw e;
  } finally {
    for (const g of grads.values()) rt.release(g);
    engine.releaseScratch();
  }
  return outputs;
}
