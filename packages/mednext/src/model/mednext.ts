/**
 * The MedNeXt v1 3-D network (Roy et al. 2023) as explicit tfjs variables plus a forward function.
 *
 * Variables are keyed by the official PyTorch `state_dict()` names and stored in PyTorch layout, so
 * checkpoints load without conversion and `tf.variableGrads` returns gradients in the official layout.
 * The forward pass works on NDHWC tensors (tfjs's layout); {@link toNdhwc}/{@link toNcdhw} convert at
 * the boundary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { walkMedNeXt } from '../network/engine.js';
import { KernelHeapNetwork } from '../network/engines/kernel-heap/network.js';
import { TfjsEngine } from '../network/engines/tfjs/engine.js';
import { FusedBlockWeights } from '../network/engines/tfjs/fused-kernel-block.js';
import { currentForwardEnvironment, planForward, type ForwardPlan } from '../network/plan.js';
import { buildArchitecture, parameterSpecs, type Architecture, type ParamSpec } from './architecture.js';
import { resolveConfig, type MedNeXtConfig, type ResolvedConfig } from './config.js';
import { MedNeXtError } from '../errors.js';

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
   * Elements per chunk of the per-voxel part of each composite block when no gradient is being recorded
   * (the expanded tensor then never exists whole); 0 disables chunking. Default 2^23 (32 MB chunks).
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
  private kernelHeap: KernelHeapNetwork | undefined;

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
    if (x.rank !== 5)
      throw new MedNeXtError('MODEL_INPUT', `MedNeXt.forward: expected a 5-D NDHWC tensor, got rank ${x.rank}`);
    const [, d, h, w, c] = x.shape;
    if (c !== this.resolved.inChannels) {
      throw new MedNeXtError(
        'MODEL_INPUT',
        `MedNeXt.forward: input has ${c} channels (last axis, NDHWC), the model expects ${this.resolved.inChannels}`,
      );
    }
    if ([d, h, w].some((v) => v % 16 !== 0)) {
      throw new MedNeXtError(
        'MODEL_INPUT',
        `MedNeXt.forward: every spatial dimension must be a multiple of 16 (4 down/up levels), got ${d}x${h}x${w}`,
      );
    }
  }

  /**
   * How {@link forward} would run now with `options`: the engine, each block's path and why
   * (see {@link planForward}).
   */
  plan(options: ForwardOptions = {}): ForwardPlan {
    return planForward({
      architecture: this.architecture,
      // Training paths under a tape: chunking and the inference kernels take no gradient.
      training: options.training === true || gradientRecording(),
      fused: options.fused,
      leanGradients: options.leanGradients,
      checkpointBlocks: options.checkpointBlocks ?? this.config.checkpoint_style === 'outside_block',
      chunkElements: options.chunkElements,
      environment: currentForwardEnvironment(),
    });
  }

  /**
   * Runs the network on an NDHWC input `[N, D, H, W, in_channels]`, on the engine {@link plan} chooses.
   * @returns logits, NDHWC: `[main]`, or with deep supervision `[out_0 (S), out_1 (S/2), ..., out_4 (S/16)]`
   */
  forward(x: tf.Tensor5D, options: ForwardOptions = {}): tf.Tensor5D[] {
    this.checkInput(x);
    const ds = options.deepSupervision ?? this.resolved.deepSupervision;
    if (ds && !this.resolved.deepSupervision) {
      throw new MedNeXtError(
        'MODEL_INPUT',
        'MedNeXt.forward: deep supervision requested but the model was built without the DS heads',
      );
    }
    const p = (name: string): tf.Tensor => {
      const v = this.params.get(name);
      if (!v) throw new Error(`MedNeXt: parameter '${name}' is missing`);
      return v;
    };
    const plan = this.plan(options);
    if (plan.engine === 'kernel-heap') {
      this.kernelHeap ??= new KernelHeapNetwork(this.architecture);
      return this.kernelHeap.forward(x, p, ds);
    }
    const engine = new TfjsEngine(plan, {
      params: p,
      paramNames: [...this.params.keys()],
      fusedWeights: this.fusedWeights,
    });
    return walkMedNeXt(this.architecture, engine, x, { deepSupervision: ds });
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
    this.kernelHeap?.dispose();
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}
