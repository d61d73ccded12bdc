/// <reference types="@webgpu/types" />
/**
 * `createWebGpuNetwork`: a MedNeXt model on the GPU through WebGPU — weights uploaded once, each forward pass
 * recorded into one command encoder by {@link walkMedNeXt} over {@link WebGpuEngine}, submitted, read back;
 * `valueAndGrads` adds the backward pass (backward.ts) for training.
 */
import {
  acquireGpuDevice,
  GpuRuntime,
  isSoftwareAdapter,
  sigmoid,
  type GpuAdapterSummary,
  type GpuTensor,
} from '@mednext-ts/tensor3d/webgpu';
import type { MedNeXt } from '../../../model/mednext.js';
import { walkMedNeXt } from '../../engine.js';
import { recordBackward, RecordingEngine, type ActivationStorage } from './backward.js';
import { WebGpuEngine, type BlockPath } from './engine.js';
import { allocateValue, releaseValue, uploadSample, type GpuValue } from './values.js';
import { GpuWeights } from './weights.js';
import { MedNeXtError } from '../../../errors.js';

/** Options of {@link createWebGpuNetwork}. */
export interface WebGpuNetworkOptions {
  /** Run on this device instead of acquiring one (`navigator.gpu` / the `webgpu` package). */
  device?: GPUDevice;
  /**
   * How {@link WebGpuNetwork.valueAndGrads} stores the block inputs it keeps for the backward pass: `'f32'`
   * (default), or `'f16'`, packed two per 32-bit word on every adapter (no `shader-f16` needed): about half the
   * activation memory of a training step, gradients within f16 rounding (relative 2⁻¹¹ per kept value) of the
   * f32 ones. Every kernel still computes in f32.
   */
  activationStorage?: ActivationStorage;
  /**
   * @deprecated Not an option: passing it is an error naming {@link WebGpuNetworkOptions.activationStorage}
   * (f16 storage of the activations kept for training; the forward always computes and stores in f32).
   */
  f16?: boolean;
  /**
   * Largest storage binding to use, in bytes (default and upper bound: the adapter's
   * `maxStorageBufferBindingSize`). Tensors above it are split into channel groups; a lower value only adds
   * dispatches (tests use it to exercise the split on small shapes).
   */
  maxBindingBytes?: number;
}

/** Options of {@link WebGpuNetwork.forward}. */
export interface WebGpuForwardOptions {
  /** Also return the deep-supervision heads (default: the model's `deep_supervision`). */
  deepSupervision?: boolean;
  /** Apply the logistic function on the GPU (region probabilities instead of logits). Default false. */
  sigmoid?: boolean;
}

/** A MedNeXt model resident on a GPU. */
export interface WebGpuNetwork {
  /**
   * Runs the network on one sample.
   * @param x input, NCDHW with N = 1: `in_channels x D x H x W` values
   * @param spatial `[D, H, W]`, each a multiple of 16
   * @returns logits, NCDHW (N = 1), in the official head order: `[out_0]`, or with deep supervision
   *   `[out_0 (S), out_1 (S/2), ..., out_4 (S/16)]`
   * @throws GpuCapacityError when one channel of the patch alone exceeds a storage binding
   */
  forward(x: Float32Array, spatial: [number, number, number], options?: WebGpuForwardOptions): Promise<Float32Array[]>;
  /**
   * One training gradient on one sample: the forward pass (recording what the backward needs: every block's
   * input, nothing inside a block), the heads' outputs handed to `lossGradient` on the host, then the backward
   * pass on the GPU.
   *
   * @param x input, NCDHW with N = 1
   * @param spatial `[D, H, W]`, each a multiple of 16
   * @param lossGradient given the heads' logits (as {@link WebGpuNetwork.forward} returns them), returns
   *   dLoss/dlogits for each, same layout and order; a head whose entry is `undefined` gets no gradient
   * @returns the logits, and the gradient of every parameter by official state-dict name in the PyTorch layout
   *   (as `MedNeXt.valueAndGrads` and PyTorch: parameters the loss does not reach — `dummy_tensor`, the heads
   *   without a loss gradient — have no entry)
   * @throws MedNeXtError `GPU_LIMIT` when a tensor of this patch exceeds one storage binding (the backward runs
   *   on the fused path only: every block's tensors must fit one binding; see {@link WebGpuNetwork.lastBlockPaths})
   * @example
   * ```ts
   * // BCE-with-logits (mean) on the main output only.
   * const { grads } = await net.valueAndGrads(x, [32, 32, 32], ([logits]) => [
   *   logits.map((z, i) => (1 / (1 + Math.exp(-z)) - target[i]) / logits.length),
   * ], { deepSupervision: false });
   * grads.get('stem.weight'); // Float32Array, [n_channels, in_channels, 1, 1, 1]
   * ```
   */
  valueAndGrads(
    x: Float32Array,
    spatial: [number, number, number],
    lossGradient: (logits: Float32Array[]) => (Float32Array | undefined)[],
    options?: Pick<WebGpuForwardOptions, 'deepSupervision'>,
  ): Promise<{ outputs: Float32Array[]; grads: Map<string, Float32Array> }>;
  /** The adapter the network runs on. */
  readonly adapter: { description: string; backend?: string; limits: Record<string, number>; features: string[] };
  /** Whether that adapter is a CPU rasteriser (llvmpipe, SwiftShader...): correct, but slower than the CPU kernels. */
  readonly software: boolean;
  /**
   * The path every MedNeXt block took in the last forward, in order: `fused` (one inverted-bottleneck kernel) or
   * `split` (its tensors exceed one storage binding: grouped kernels, expanded tensor in global memory).
   */
  lastBlockPaths(): ReadonlyArray<{ block: string; path: BlockPath }>;
  /** Most GPU bytes the network has had allocated at once (weights, activations, parameter uniforms). */
  peakBytes(): number;
  /** Frees the GPU buffers (and the device, when the network acquired it). */
  dispose(): void;
}

/** What is known about the adapter of a device the caller gave (its limits, features and name when exposed). */
export function summarizeDevice(device: GPUDevice): GpuAdapterSummary {
  const limits: Record<string, number> = {};
  for (const key of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize']) {
    limits[key] = (device.limits as unknown as Record<string, number>)[key];
  }
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).adapterInfo;
  const description = info?.description || info?.device || info?.vendor || 'device given by the caller';
  const software = isSoftwareAdapter({ description, device: info?.device, isFallbackAdapter: info?.isFallbackAdapter });
  return { description, limits, features: [...device.features].map(String).sort(), software };
}

/**
 * Puts `model` on a GPU.
 *
 * @example
 * ```ts
 * const net = await createWebGpuNetwork(model);
 * const [logits] = await net.forward(input, [128, 160, 112]); // input: 1 x 4 x 128 x 160 x 112, NCDHW
 * console.log(net.adapter.description, net.peakBytes());
 * net.dispose();
 * ```
 * Activations larger than one storage binding are held as channel groups; blocks whose tensors do not fit one
 * binding run unfused, with the expanded tensor in GPU memory (see {@link WebGpuNetwork.lastBlockPaths}).
 *
 * @throws GpuUnavailableError when no WebGPU adapter can be had (the message says why)
 */
export async function createWebGpuNetwork(model: MedNeXt, options: WebGpuNetworkOptions = {}): Promise<WebGpuNetwork> {
  if (options.f16 !== undefined) {
    throw new MedNeXtError(
      'GPU_UNSUPPORTED',
      "createWebGpuNetwork: there is no `f16` option; f16 storage of the activations kept for training is `activationStorage: 'f16'` (the forward computes in f32)",
    );
  }
  const activationStorage = options.activationStorage ?? 'f32';
  if (activationStorage !== 'f32' && activationStorage !== 'f16') {
    throw new MedNeXtError(
      'MODEL_INPUT',
      `createWebGpuNetwork: activationStorage must be 'f32' or 'f16', got ${String(activationStorage)}`,
    );
  }
  const acquired = options.device ? undefined : await acquireGpuDevice();
  const device = options.device ?? (acquired as { device: GPUDevice }).device;
  const summary = acquired?.adapter ?? summarizeDevice(device);
  const rt = new GpuRuntime(device, { maxBindingBytes: options.maxBindingBytes });
  const weights = await GpuWeights.upload(rt, model);
  return webGpuNetworkOn(
    rt,
    weights,
    model,
    summary,
    () => {
      weights.dispose();
      rt.dispose();
      if (acquired) device.destroy();
    },
    activationStorage,
  );
}

/**
 * A {@link WebGpuNetwork} over a runtime and weights someone else owns (the GPU trainer runs its validation
 * forward through it, on the parameters it trains); `release` runs at `dispose()`; `activationStorage` is that of
 * {@link WebGpuNetwork.valueAndGrads} ({@link WebGpuNetworkOptions.activationStorage}).
 */
export function webGpuNetworkOn(
  rt: GpuRuntime,
  weights: GpuWeights,
  model: MedNeXt,
  summary: GpuAdapterSummary,
  release: () => void,
  activationStorage: ActivationStorage = 'f32',
): WebGpuNetwork {
  const arch = model.architecture;
  const inChannels = arch.config.inChannels;
  let queue: Promise<unknown> = Promise.resolve();
  let disposed = false;
  let blockPaths: ReadonlyArray<{ block: string; path: BlockPath }> = [];

  const checkInput = (x: Float32Array, spatial: [number, number, number], ds: boolean): void => {
    if (disposed) throw new Error('WebGPU MedNeXt: forward after dispose()');
    if (spatial.length !== 3 || spatial.some((n) => !Number.isInteger(n) || n <= 0 || n % 16 !== 0)) {
      throw new MedNeXtError(
        'MODEL_INPUT',
        `WebGPU MedNeXt: every spatial dimension must be a positive multiple of 16 (4 down/up levels), got ${spatial.join('x')}`,
      );
    }
    const expected = inChannels * spatial[0] * spatial[1] * spatial[2];
    if (x.length !== expected) {
      throw new MedNeXtError(
        'MODEL_INPUT',
        `WebGPU MedNeXt: input has ${x.length} values, expected ${inChannels}x${spatial.join('x')} = ${expected} (NCDHW, one sample)`,
      );
    }
    if (ds && arch.heads.length < 5) {
      throw new MedNeXtError(
        'MODEL_INPUT',
        'WebGPU MedNeXt: deep supervision requested but the model was built without the DS heads',
      );
    }
  };

  const uploadInput = (x: Float32Array, spatial: [number, number, number]): GpuValue =>
    uploadSample(rt, x, inChannels, spatial);

  const train = async (
    x: Float32Array,
    spatial: [number, number, number],
    ds: boolean,
    lossGradient: (logits: Float32Array[]) => (Float32Array | undefined)[],
  ): Promise<{ outputs: Float32Array[]; grads: Map<string, Float32Array> }> => {
    checkInput(x, spatial, ds);
    const input = uploadInput(x, spatial);
    const recorder = new RecordingEngine(rt, weights, arch, { activationStorage });
    let heads: GpuValue[] = [];
    let headsReleased = false;
    const gradHeads = new Map<number, GpuTensor>();
    let gradTensors: GpuTensor[] = [];
    try {
      heads = walkMedNeXt(arch, recorder, input, { deepSupervision: ds });
      const outputs = await rt.finish(heads.map((o) => o.tensor));
      // The logits are on the host now; the backward never reads them.
      for (const o of heads) releaseValue(rt, o);
      headsReleased = true;
      const dOutputs = lossGradient(outputs);
      if (dOutputs.length > heads.length) {
        throw new Error(`WebGPU MedNeXt: ${dOutputs.length} loss gradients for ${heads.length} outputs`);
      }
      dOutputs.forEach((g, level) => {
        if (!g) return;
        if (g.length !== outputs[level].length) {
          throw new Error(
            `WebGPU MedNeXt: the loss gradient of output ${level} has ${g.length} values, expected ${outputs[level].length}`,
          );
        }
        gradHeads.set(level, rt.upload(g, `d out_${level}`));
      });
      const named = recordBackward(rt, weights, arch, recorder.steps, gradHeads, {
        free: (v) => recorder.free(v),
        unpack: (v) => recorder.unpack(v),
        dropUnpacked: (v) => recorder.dropUnpacked(v),
        // A head's loss gradient is read by its own backward step only.
        gradHeadDone: (level, g) => {
          rt.release(g);
          gradHeads.delete(level);
        },
      });
      gradTensors = named.map((n) => n.tensor);
      const data = await rt.finish(gradTensors);
      const grads = new Map<string, Float32Array>();
      named.forEach((n, i) => n.emit(data[i], grads));
      return { outputs, grads };
    } catch (e) {
      // A walk refused midway has already made the heads before the refusal: they are the caller's, freed here.
      if (!heads.length) heads = recorder.steps.filter((s) => s.op === 'head').map((s) => s.out);
      await rt.abort();
      throw e;
    } finally {
      releaseValue(rt, input);
      if (!headsReleased) for (const o of heads) releaseValue(rt, o);
      for (const t of [...gradHeads.values(), ...gradTensors]) rt.release(t);
      recorder.dispose();
    }
  };

  const run = async (
    x: Float32Array,
    spatial: [number, number, number],
    ds: boolean,
    probabilities: boolean,
  ): Promise<Float32Array[]> => {
    checkInput(x, spatial, ds);
    const input = uploadInput(x, spatial);
    const engine = new WebGpuEngine(rt, weights, arch);
    let outputs: GpuValue[] = [];
    try {
      outputs = walkMedNeXt(arch, engine, input, { deepSupervision: ds });
      if (probabilities) {
        outputs = outputs.map((logits) => {
          const p = allocateValue(rt, logits.channels, logits.size, 'probabilities', logits.partChannels);
          logits.parts.forEach((part, i) => sigmoid(rt, { input: part, output: p.parts[i] }));
          releaseValue(rt, logits);
          return p;
        });
      }
      const parts = await rt.finish(outputs.flatMap((o) => [...o.parts]));
      blockPaths = engine.blockPaths;
      let next = 0;
      return outputs.map((o) => {
        const whole = new Float32Array(o.channels * o.size[0] * o.size[1] * o.size[2]);
        let at = 0;
        for (let i = 0; i < o.parts.length; i++) {
          const part = parts[next++];
          whole.set(part, at);
          at += part.length;
        }
        return whole;
      });
    } catch (e) {
      await rt.abort();
      throw e;
    } finally {
      engine.releaseScratch();
      releaseValue(rt, input);
      for (const o of outputs) releaseValue(rt, o);
    }
  };

  return {
    adapter: {
      description: summary.description,
      backend: summary.backend,
      limits: summary.limits,
      features: summary.features,
    },
    software: summary.software,
    forward(x, spatial, opts = {}) {
      const ds = opts.deepSupervision ?? model.resolved.deepSupervision;
      // One forward at a time: they share the runtime's encoder and buffer pool.
      const result = queue.then(() => run(x, spatial, ds, !!opts.sigmoid));
      queue = result.catch(() => undefined);
      return result;
    },
    lastBlockPaths: () => blockPaths,
    valueAndGrads(x, spatial, lossGradient, opts = {}) {
      const ds = opts.deepSupervision ?? model.resolved.deepSupervision;
      const result = queue.then(() => train(x, spatial, ds, lossGradient));
      queue = result.catch(() => undefined);
      return result;
    },
    peakBytes: () => rt.peakBytes,
    dispose() {
      if (disposed) return;
      disposed = true;
      release();
    },
  };
}
