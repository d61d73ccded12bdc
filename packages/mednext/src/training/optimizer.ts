/**
 * The optimisers training can use, behind one small interface: Schedule-Free AdamW (the seed
 * recipe) and plain AdamW with a poly or cosine learning-rate schedule (for comparison).
 *
 * Both expose `train()`/`eval()`: for Schedule-Free they move the parameters between y (where
 * gradients are taken) and x (the averaged point to validate and save); for AdamW they do nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdamWScheduleFree } from '@mednext-ts/optim-schedulefree';
import { MedNeXtError } from '../errors.js';

/** Optimiser state as plain arrays: float32 tensors and exactly-stored integer words. */
export interface OptimizerState {
  kind: OptimizerKind;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** Small integer arrays (e.g. float64 counters packed as int32 words), kept exactly. */
  words: Record<string, number[]>;
  /** Order of the entries as the optimiser reports them (restored in this order). */
  order: string[];
}

/** Optimiser choices. */
export type OptimizerKind = 'schedulefree' | 'adamw-poly' | 'adamw-cosine';

/** The interface the training loop drives. */
export interface TrainingOptimizer {
  readonly kind: OptimizerKind;
  /** Parameters to the point gradients are taken at (before training steps). */
  train(): void;
  /** Parameters to the point to evaluate and save (before validation and checkpoints). */
  eval(): void;
  applyGradients(grads: tf.NamedTensorMap): void;
  /** Learning rate for the epoch about to start (schedules), 0-based. */
  startEpoch(epoch: number, epochs: number): void;
  /** Learning rate currently used (logged). */
  readonly learningRate: number;
  saveState(): Promise<OptimizerState>;
  loadState(state: OptimizerState): Promise<void>;
  dispose(): void;
}

/** Options shared by the optimisers. */
export interface OptimizerOptions {
  kind: OptimizerKind;
  learningRate: number;
  weightDecay: number;
  /** Schedule-Free linear warmup steps (0 = none, the seed recipe). */
  warmupSteps?: number;
}

async function weightsToState(
  kind: OptimizerKind,
  weights: { name: string; tensor: tf.Tensor }[],
): Promise<OptimizerState> {
  const state: OptimizerState = { kind, tensors: new Map(), words: {}, order: [] };
  for (const { name, tensor } of weights) {
    state.order.push(name);
    if (tensor.dtype === 'float32') {
      state.tensors.set(name, { shape: [...tensor.shape], data: (await tensor.data()) as Float32Array });
    } else {
      state.words[name] = Array.from(await tensor.data());
    }
    tensor.dispose();
  }
  return state;
}

function stateToWeights(state: OptimizerState, owner: string): { name: string; tensor: tf.Tensor }[] {
  return state.order.map((name) => {
    const t = state.tensors.get(name);
    if (t) return { name, tensor: tf.tensor(t.data, t.shape, 'float32') };
    const w = state.words[name];
    if (!w) throw new MedNeXtError('CHECKPOINT_INVALID', `${owner}: optimizer state entry '${name}' is missing`);
    return { name, tensor: w.length === 1 && name === 'iter' ? tf.scalar(w[0]!, 'int32') : tf.tensor1d(w, 'int32') };
  });
}

class ScheduleFreeAdapter implements TrainingOptimizer {
  readonly kind = 'schedulefree' as const;
  private readonly opt: AdamWScheduleFree;
  constructor(options: OptimizerOptions) {
    this.opt = new AdamWScheduleFree({
      lr: options.learningRate,
      weightDecay: options.weightDecay,
      warmupSteps: options.warmupSteps ?? 0,
    });
  }
  get learningRate(): number {
    return this.opt.lr;
  }
  train(): void {
    this.opt.train();
  }
  eval(): void {
    this.opt.eval();
  }
  applyGradients(grads: tf.NamedTensorMap): void {
    this.opt.applyGradients(grads);
  }
  startEpoch(): void {
    // Schedule-Free needs no schedule: that is its point.
  }
  async saveState(): Promise<OptimizerState> {
    return weightsToState(this.kind, await this.opt.getWeights());
  }
  async loadState(state: OptimizerState): Promise<void> {
    const weights = stateToWeights(state, 'schedulefree');
    await this.opt.setWeights(weights);
    tf.dispose(weights.map((w) => w.tensor));
  }
  dispose(): void {
    this.opt.dispose();
  }
}

/**
 * AdamW (decoupled weight decay, bias-corrected moments) with a per-epoch learning-rate
 * schedule: nnU-Net's poly `lr·(1 − e/E)^0.9` or cosine `lr·(1 + cos(π·e/E))/2`.
 */
export class AdamWScheduled implements TrainingOptimizer {
  readonly kind: 'adamw-poly' | 'adamw-cosine';
  private readonly base: number;
  private lr: number;
  private readonly wd: number;
  private readonly beta1 = 0.9;
  private readonly beta2 = 0.999;
  private readonly eps = 1e-8;
  private step = 0;
  private readonly slots = new Map<string, { m: tf.Variable; v: tf.Variable }>();

  constructor(options: OptimizerOptions & { kind: 'adamw-poly' | 'adamw-cosine' }) {
    this.kind = options.kind;
    this.base = options.learningRate;
    this.lr = options.learningRate;
    this.wd = options.weightDecay;
  }
  get learningRate(): number {
    return this.lr;
  }
  train(): void {}
  eval(): void {}
  startEpoch(epoch: number, epochs: number): void {
    const f = epoch / epochs;
    this.lr = this.kind === 'adamw-poly' ? this.base * (1 - f) ** 0.9 : (this.base * (1 + Math.cos(Math.PI * f))) / 2;
  }
  applyGradients(grads: tf.NamedTensorMap): void {
    this.step++;
    const t = this.step;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    const vars = tf.engine().registeredVariables;
    tf.tidy(() => {
      for (const [name, g] of Object.entries(grads)) {
        if (!g) continue;
        const p = vars[name];
        if (!p) throw new Error(`AdamW: no variable named '${name}'`);
        let s = this.slots.get(name);
        if (!s) {
          s = { m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) };
          this.slots.set(name, s);
        }
        const m = tf.add(tf.mul(s.m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(s.v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        s.m.assign(m);
        s.v.assign(v);
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.eps));
        const decayed = this.wd !== 0 ? tf.mul(p, 1 - this.lr * this.wd) : p;
        p.assign(tf.sub(decayed, tf.mul(update, this.lr)));
      }
    });
  }
  async saveState(): Promise<OptimizerState> {
    const state: OptimizerState = {
      kind: this.kind,
      tensors: new Map(),
      words: { step: [this.step] },
      order: ['step'],
    };
    for (const [name, s] of this.slots) {
      for (const [slot, v] of [
        ['m', s.m],
        ['v', s.v],
      ] as const) {
        const key = `${name}/${slot}`;
        state.tensors.set(key, { shape: [...v.shape], data: (await v.data()) as Float32Array });
        state.order.push(key);
      }
    }
    return state;
  }
  async loadState(state: OptimizerState): Promise<void> {
    if (state.kind !== this.kind)
      throw new MedNeXtError(
        'TRAINING_SETTING',
        `AdamW: state was saved by '${state.kind}', this run uses '${this.kind}'`,
      );
    this.disposeSlots();
    this.step = state.words.step?.[0] ?? 0;
    for (const [key, t] of state.tensors) {
      const cut = key.lastIndexOf('/');
      const name = key.slice(0, cut);
      const slot = key.slice(cut + 1) as 'm' | 'v';
      const entry = this.slots.get(name) ?? ({} as { m: tf.Variable; v: tf.Variable });
      entry[slot] = tf.variable(tf.tensor(t.data, t.shape, 'float32'), false);
      this.slots.set(name, entry);
    }
  }
  private disposeSlots(): void {
    for (const s of this.slots.values()) {
      s.m?.dispose();
      s.v?.dispose();
    }
    this.slots.clear();
  }
  dispose(): void {
    this.disposeSlots();
  }
}

/** Creates the optimiser of a run. */
export function createOptimizer(options: OptimizerOptions): TrainingOptimizer {
  if (!(options.learningRate > 0)) throw new RangeError(`learning rate must be positive, got ${options.learningRate}`);
  if (options.kind === 'schedulefree') return new ScheduleFreeAdapter(options);
  if (options.kind === 'adamw-poly' || options.kind === 'adamw-cosine')
    return new AdamWScheduled({ ...options, kind: options.kind });
  throw new MedNeXtError(
    'TRAINING_SETTING',
    `unknown optimizer '${String(options.kind)}' (use schedulefree, adamw-poly or adamw-cosine)`,
  );
}

/**
 * Renames the per-variable entries (`<variable>/<slot>`) of an optimizer state. tfjs names
 * variables by a process-wide counter, so a state is saved under the model's parameter names
 * (official state-dict names) and mapped back to the new process's variable names on resume.
 * Entries that are not per-variable (`iter`, group counters) are kept as they are.
 * @throws when a per-variable entry has no mapping
 */
export function renameOptimizerState(state: OptimizerState, names: ReadonlyMap<string, string>): OptimizerState {
  const rename = (key: string): string => {
    const cut = key.lastIndexOf('/');
    if (cut <= 0 || !state.tensors.has(key)) return key;
    const variable = key.slice(0, cut);
    const mapped = names.get(variable);
    if (mapped === undefined)
      throw new MedNeXtError(
        'CHECKPOINT_INVALID',
        `optimizer state entry '${key}': no parameter named '${variable}' in this model`,
      );
    return `${mapped}${key.slice(cut)}`;
  };
  return {
    kind: state.kind,
    words: state.words,
    order: state.order.map(rename),
    tensors: new Map([...state.tensors].map(([k, v]) => [rename(k), v])),
  };
}
