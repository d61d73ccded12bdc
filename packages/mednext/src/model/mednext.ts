/**
 * The MedNeXt v1 3-D network (Roy et al. 2023) as explicit tfjs variables plus a forward function.
 *
 * Variables are keyed by the official PyTorch `state_dict()` names and stored in PyTorch layout, so
 * checkpoints load without conversion and `tf.variableGrads` returns gradients in the official layout.
 * The forward pass works on NDHWC tensors (tfjs's layout); {@link toNdhwc}/{@link toNcdhw} convert at
 * the boundary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernels } from '@mednext-ts/tensor3d';
// Side effect: gradients of the kernels used here (tfjs-core registers none by itself).
import {
  buildArchitecture,
  parameterSpecs,
  type Architecture,
  type BlockSpec,
  type ParamSpec,
} from './architecture.js';
import { resolveConfig, type MedNeXtConfig, type ResolvedConfig } from './config.js';
import { FusedBlockWeights, fusedBlocksUsable, runFusedBlock } from './fused-blocks.js';
import { HostNetwork, hostNetworkSupports } from './host-network.js';
import { add5, pointwise, pointwiseTransposed, runBlock, type BlockRunOptions } from './layers.js';
import { add5Lean, withGradientRelease } from './lean-grad.js';
import { checkpointed, runBlockTrain } from './train-block.js';

/** Options of {@link MedNeXt.create}. */
export interface CreateOptions {
  /** Seed of the (PyTorch-default) uniform initialisation; random when absent. */
  seed?: number;
}

/** Options of {@link MedNeXt.forward}. */
export interface ForwardOptions {
  /**
   * Training mode. MedNeXt has no dropout and no running statistics, so the values are the same
   * in both modes; the flag is accepted so callers can state intent (and for future checkpointing).
   */
  training?: boolean;
  /**
   * Elements per chunk of the per-voxel part of each block when no gradient is being recorded
   * (see {@link BlockRunOptions.chunkElements}); 0 disables chunking. Default 2^23 (32 MB chunks).
   */
  chunkElements?: number;
  /**
   * Return the 5 deep-supervision outputs. Defaults to the config's `deep_supervision`; requesting
   * it from a model built without the heads is an error.
   */
  deepSupervision?: boolean;
  /**
   * Run the blocks on the fused WebAssembly block kernel where it applies (outside a gradient tape, backend
   * `cpu`/`wasm` with the fast kernels enabled, blocks without GRN); other blocks and settings take the
   * composite path, which gives the same values within float rounding. Default true; false forces the composite
   * path (e.g. to compare the two).
   */
  fused?: boolean;
  /**
   * Under a gradient tape, keep only each block's input (and parameters) and recompute the block in the
   * backward pass (gradient checkpointing; costs about one more forward pass per step). Defaults to the
   * config's `checkpoint_style === 'outside_block'` (the official name); ignored outside a tape.
   */
  checkpointBlocks?: boolean;
  /**
   * Under a gradient tape, run the blocks on the memory-lean custom gradients (same values, a fraction of
   * the memory). Default true; false takes tfjs's plain autodiff of the composite block, to compare
   * (`checkpointBlocks` is then ignored).
   */
  leanGradients?: boolean;
}

/** NCDHW → NDHWC (a rank-3 transpose underneath, which every backend supports). */
export function toNdhwc(x: tf.Tensor5D): tf.Tensor5D {
  const [n, c, d, h, w] = x.shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [n, c, d * h * w]), [0, 2, 1]), [n, d, h, w, c]);
}

/** NDHWC → NCDHW. */
export function toNcdhw(x: tf.Tensor5D): tf.Tensor5D {
  const [n, d, h, w, c] = x.shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [n, d * h * w, c]), [0, 2, 1]), [n, c, d, h, w]);
}

/** Whether tfjs is recording a gradient tape right now (inside tf.grad / tf.variableGrads). */
function gradientRecording(): boolean {
  // tfjs keeps this in the engine state; it has no public accessor.
  const state = (tf.engine() as unknown as { state?: { gradientDepth?: number } }).state;
  return (state?.gradientDepth ?? 0) > 0;
}

function initialValue(spec: ParamSpec, seed: number | undefined): tf.Tensor {
  switch (spec.init.kind) {
    case 'ones':
      return tf.ones(spec.shape);
    case 'zeros':
      return tf.zeros(spec.shape);
    default: {
      const bound = 1 / Math.sqrt(spec.init.fanIn);
      return tf.randomUniform(spec.shape, -bound, bound, 'float32', seed);
    }
  }
}

/** A MedNeXt v1 network: configuration, variables, forward pass. */
export class MedNeXt {
  /** The configuration as given (official argument names). */
  readonly config: MedNeXtConfig;
  /** The configuration with defaults filled in. */
  readonly resolved: ResolvedConfig;
  readonly architecture: Architecture;
  /** Parameters in PyTorch order and layout, keyed by official state-dict names. */
  readonly params: Map<string, tf.Variable>;
  /** Block weights converted for the fused kernel, kept across forward passes (see {@link FusedBlockWeights}). */
  private readonly fusedWeights = new FusedBlockWeights();
  /** The whole-network pass in kernel memory, for networks it takes (created on first use). */
  private hostNetwork: HostNetwork | undefined;

  private constructor(config: MedNeXtConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.resolved = resolveConfig(config);
    this.architecture = buildArchitecture(this.resolved);
    this.params = params;
  }

  /** Builds a freshly initialised network (PyTorch default initialisation). */
  static create(config: MedNeXtConfig, options: CreateOptions = {}): MedNeXt {
    const arch = buildArchitecture(resolveConfig(config));
    const params = new Map<string, tf.Variable>();
    parameterSpecs(arch).forEach((spec, i) => {
      const seed = options.seed === undefined ? undefined : options.seed * 100003 + i;
      const init = initialValue(spec, seed);
      // dummy_tensor exists only for state-dict compatibility and is never used.
      // Variable names are left to tfjs: they are global, and several models (folds) may be alive at once.
      params.set(spec.name, tf.variable(init, spec.name !== 'dummy_tensor'));
      init.dispose();
    });
    return new MedNeXt(config, params);
  }

  /** The parameter list (names, shapes, initialisers) of this configuration. */
  parameterSpecs(): ParamSpec[] {
    return parameterSpecs(this.architecture);
  }

  /** Total number of scalar parameters, including `dummy_tensor` (as PyTorch counts them). */
  parameterCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** The trainable variables (everything except `dummy_tensor`). */
  trainableVariables(): tf.Variable[] {
    return [...this.params.entries()].filter(([name]) => name !== 'dummy_tensor').map(([, v]) => v);
  }

  /** Checks the input and returns its spatial size. */
  private checkInput(x: tf.Tensor): void {
    if (x.rank !== 5) throw new Error(`MedNeXt.forward: expected a 5-D NDHWC tensor, got rank ${x.rank}`);
    const [, d, h, w, c] = x.shape;
    if (c !== this.resolved.inChannels) {
      throw new Error(
        `MedNeXt.forward: input has ${c} channels (last axis, NDHWC), the model expects ${this.resolved.inChannels}`,
      );
    }
    if ([d, h, w].some((v) => v % 16 !== 0)) {
      throw new Error(
        `MedNeXt.forward: every spatial dimension must be a multiple of 16 (4 down/up levels), got ${d}x${h}x${w}`,
      );
    }
  }

  /**
   * Runs the network on an NDHWC input `[N, D, H, W, in_channels]`.
   * @returns logits, NDHWC: `[main]`, or with deep supervision `[out_0 (S), out_1 (S/2), ..., out_4 (S/16)]`
   */
  forward(x: tf.Tensor5D, options: ForwardOptions = {}): tf.Tensor5D[] {
    this.checkInput(x);
    const ds = options.deepSupervision ?? this.resolved.deepSupervision;
    if (ds && !this.resolved.deepSupervision) {
      throw new Error('MedNeXt.forward: deep supervision requested but the model was built without the DS heads');
    }
    const arch = this.architecture;
    // Chunk only outside a gradient tape: under one, every chunk's intermediates are kept anyway.
    const inference = !(options.training || gradientRecording());
    const blockOptions: BlockRunOptions = {
      chunkElements: inference ? (options.chunkElements ?? 2 ** 23) : 0,
    };
    const useFused = inference && options.fused !== false;
    const p = (name: string): tf.Tensor => {
      const v = this.params.get(name);
      if (!v) throw new Error(`MedNeXt: parameter '${name}' is missing`);
      return v;
    };
    if (useFused) {
      const whole = this.forwardInKernelMemory(x, p, ds);
      if (whole) return whole;
    }
    // Under a tape: the memory-lean custom-gradient path (same values), optionally recomputed per block.
    const taped = !inference;
    const checkpoint = taped && (options.checkpointBlocks ?? this.config.checkpoint_style === 'outside_block');
    const trainBlock = (t: tf.Tensor5D, b: BlockSpec): tf.Tensor5D => {
      if (options.leanGradients === false) return runBlock(t, b, p, blockOptions);
      // Safe here: the root of the gradient is the caller's loss and the requested tensors are variables.
      if (!checkpoint) return withGradientRelease(() => runBlockTrain(t, b, p));
      const names = [...this.params.keys()].filter((name) => name.startsWith(`${b.name}.`));
      return withGradientRelease(() => checkpointed((xi, pi) => runBlockTrain(xi, b, pi), t, names, p));
    };
    const head = (h: tf.Tensor5D, name: string): tf.Tensor5D =>
      tf.tidy(() => pointwiseTransposed(h, p(`${name}.conv_out.weight`), p(`${name}.conv_out.bias`)));
    // Each block runs in its own tidy so a large patch only keeps the live activations.
    const step = (h: tf.Tensor5D, fn: (t: tf.Tensor5D) => tf.Tensor5D, keepInput: boolean): tf.Tensor5D => {
      const out = tf.tidy(() => fn(h));
      if (!keepInput) h.dispose();
      return out;
    };
    // The fused kernel where it applies (null otherwise), else the composite block.
    const block = (t: tf.Tensor5D, b: BlockSpec): tf.Tensor5D =>
      taped
        ? trainBlock(t, b)
        : ((useFused ? runFusedBlock(t, b, p, this.fusedWeights) : null) ?? runBlock(t, b, p, blockOptions));
    // Under the lean tape the skip addition keeps nothing (tfjs's add keeps both inputs alive).
    const addSkip = (a: tf.Tensor5D, b: tf.Tensor5D): tf.Tensor5D =>
      taped && options.leanGradients !== false ? withGradientRelease(() => add5Lean(a, b)) : add5(a, b);
    const outputs: tf.Tensor5D[] = [];
    const skips: tf.Tensor5D[] = [];
    let h = step(x, (t) => pointwise(t, p('stem.weight'), p('stem.bias')), true);
    for (let j = 0; j < 4; j++) {
      for (const b of arch.encoders[j]) h = step(h, (t) => block(t, b), false);
      skips.push(h);
      h = step(h, (t) => block(t, arch.downs[j]), true);
    }
    for (const b of arch.bottleneck) h = step(h, (t) => block(t, b), false);
    const dsOut: tf.Tensor5D[] = [];
    if (ds) dsOut.push(head(h, 'out_4'));
    for (let i = 0; i < 4; i++) {
      const j = 3 - i;
      const skip = skips[j];
      h = step(h, (t) => addSkip(block(t, arch.ups[i]), skip), false);
      skip.dispose();
      for (const b of arch.decoders[i]) h = step(h, (t) => block(t, b), false);
      if (ds && j > 0) dsOut.push(head(h, `out_${j}`));
    }
    outputs.push(head(h, 'out_0'));
    h.dispose();
    // dsOut was filled deepest first (out_4, out_3, ..., out_1); the official order is out_1..out_4.
    outputs.push(...dsOut.reverse());
    return outputs;
  }

  /**
   * The whole pass in the WebAssembly kernels' memory ({@link HostNetwork}), one sample at a time, or null where
   * it does not apply (another backend, fast kernels off, a block the fused kernel does not take).
   */
  private forwardInKernelMemory(x: tf.Tensor5D, p: (name: string) => tf.Tensor, ds: boolean): tf.Tensor5D[] | null {
    if (!fusedBlocksUsable() || !hostNetworkSupports(this.architecture)) return null;
    this.hostNetwork ??= new HostNetwork(this.architecture);
    const [n, d, h, w, c] = x.shape;
    const rt = wasmKernels.getKernelRuntime();
    const net = this.hostNetwork;
    net.prepare(rt, p);
    const perSample = d * h * w * c;
    const nClasses = this.resolved.nClasses;
    const shapes = Array.from({ length: ds ? 5 : 1 }, (_, o) => [n, d >> o, h >> o, w >> o, nClasses]);
    // The input is read and the outputs written in place in the backend's memory (no host copies).
    const outs = wasmKernels.withHostArrays([x], shapes, ([data], outArrays) => {
      for (let i = 0; i < n; i++) {
        const slice = (a: Float32Array, per: number): Float32Array => a.subarray(i * per, (i + 1) * per);
        const mine = outArrays.map((a) => slice(a, a.length / n));
        net.run(rt, p, slice(data, perSample), [d, h, w], ds, mine);
      }
    });
    return outs as tf.Tensor5D[];
  }

  /**
   * Value and gradients of a scalar loss with respect to every trainable parameter that influences it,
   * keyed by official parameter name (PyTorch layout). Parameters without a path to the loss (e.g. the
   * DS heads under a main-output-only loss, `dummy_tensor`) are absent, as in PyTorch.
   */
  valueAndGrads(loss: () => tf.Scalar): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
    const { value, grads } = tf.variableGrads(loss, this.trainableVariables());
    const out = new Map<string, tf.Tensor>();
    for (const [name, v] of this.params) {
      const g = grads[v.name];
      if (g) out.set(name, g);
    }
    return { value, grads: out };
  }

  /** Frees every variable. */
  dispose(): void {
    this.fusedWeights.clear();
    this.hostNetwork?.dispose();
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}
