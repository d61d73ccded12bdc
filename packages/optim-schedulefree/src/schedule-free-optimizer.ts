import {
  engine,
  Optimizer,
  serialization,
  tensor,
  tensor1d,
  tidy,
  zerosLike,
  type NamedTensorMap,
  type Tensor,
  type Variable,
} from '@tensorflow/tfjs-core';

import { float64ToInt32Words, int32WordsToFloat64 } from './float64-codec.js';
import { lerp } from './lerp.js';
import {
  advanceSchedule,
  initialGroupScalars,
  toEvalWeight,
  toTrainWeight,
  type GroupScalars,
  type ScheduleHyperparameters,
  type StepScalars,
} from './schedule.js';
import { STATE_FORMAT, STATE_VERSION, validateStateJSON, type ScheduleFreeStateJSON } from './state.js';

/** A named tensor as tfjs's optimizers exchange them (tfjs-core does not export its own type). */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

/**
 * Gradients as `applyGradients` accepts them: a name → tensor map (tfjs `variableGrads` output)
 * or a list. A `null`/`undefined` tensor means "no gradient": that variable is skipped entirely.
 */
export type GradientList = Array<{ name: string; tensor: Tensor | null | undefined }>;

/** Which point the parameters hold: y (`'train'`) or the average x (`'eval'`). */
export type ScheduleFreeMode = 'train' | 'eval';

/** Slot name → optimizer variable for one parameter. Every parameter has at least `z`. */
export type SlotMap = ReadonlyMap<string, Variable>;

/** Name of the `getWeights()` entry that carries the float64 group scalars. */
export const GROUP_WEIGHT_NAME = 'schedulefree/group';

/** Order of the group scalars inside the {@link GROUP_WEIGHT_NAME} tensor. */
function groupToArray(g: GroupScalars): number[] {
  return [g.k, g.weightSum, g.lrMax, g.scheduledLr, g.ckp1, g.trainMode ? 1 : 0];
}

function arrayToGroup(owner: string, a: number[]): GroupScalars {
  if (a.length !== 6) {
    throw new Error(`${owner}.setWeights: "${GROUP_WEIGHT_NAME}" holds ${a.length} scalars, expected 6`);
  }
  return { k: a[0]!, weightSum: a[1]!, lrMax: a[2]!, scheduledLr: a[3]!, ckp1: a[4]!, trainMode: a[5] === 1 };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Common machinery of the Schedule-Free optimizers (facebookresearch/schedule_free): the
 * train/eval swap between y and x, lazy per-parameter state keyed by variable name, group
 * scalars in float64, and state save/restore. Subclasses supply the per-parameter update.
 *
 * The parameters hold y in train mode and x in eval mode; z lives in the optimizer. Like the
 * reference, a new optimizer is in eval mode and `train()` must be called before the first step.
 */
export abstract class ScheduleFreeOptimizer extends Optimizer {
  /** Group counters (float64). Replaced wholesale on restore. */
  protected group: GroupScalars = initialGroupScalars();
  /** Per-parameter state in first-gradient order, keyed by variable name. */
  private readonly paramState = new Map<string, Map<string, Variable>>();

  /** Slot names, `z` first; the rest start at zero. */
  protected abstract readonly slotNames: readonly string[];
  /** Interpolation constant between x and z (β1 for AdamW, momentum for SGD). */
  protected abstract get interpolationBeta(): number;
  /** The hyper-parameters driving warmup and averaging. */
  protected abstract get scheduleHyperparameters(): ScheduleHyperparameters;
  /**
   * Updates one parameter (y, holding the current contents of the variable) and its slots in place,
   * given this step's scalars. Called inside `tidy`.
   */
  protected abstract updateParameter(y: Variable, grad: Tensor, slots: SlotMap, step: StepScalars): void;

  /**
   * Builds the registered subclass from its `getConfig()` output (tfjs serialization calls this on the class).
   * @nocollapse
   */
  static override fromConfig<T extends serialization.Serializable>(
    cls: serialization.SerializableConstructor<T>,
    config: serialization.ConfigDict,
  ): T {
    return new cls(config);
  }

  /** `'train'` when the parameters hold y, `'eval'` when they hold x. */
  get mode(): ScheduleFreeMode {
    return this.group.trainMode ? 'train' : 'eval';
  }

  /** A copy of the group counters (k, weightSum, lrMax, scheduledLr, ckp1, trainMode), for logging and tests. */
  get groupState(): GroupScalars {
    return { ...this.group };
  }

  /** Names of the variables that have optimizer state, in the order they first received a gradient. */
  get stateVariableNames(): string[] {
    return [...this.paramState.keys()];
  }

  /**
   * Switches to train mode: every parameter with state moves from x to y = lerp(x, z, 1 − β).
   * A no-op when already in train mode. Call before training steps.
   */
  train(): void {
    if (this.group.trainMode) return;
    this.moveParameters(toTrainWeight(this.interpolationBeta), 'train()');
    this.group.trainMode = true;
  }

  /**
   * Switches to eval mode: every parameter with state moves from y to x = lerp(y, z, 1 − 1/β).
   * A no-op when already in eval mode. Call before evaluating, exporting or checkpointing.
   */
  eval(): void {
    if (!this.group.trainMode) return;
    this.moveParameters(toEvalWeight(this.interpolationBeta), 'eval()');
    this.group.trainMode = false;
  }

  /**
   * One Schedule-Free step. Only variables with a non-null gradient are touched; the group
   * counters advance regardless (as in the reference). Throws in eval mode.
   */
  applyGradients(variableGradients: NamedTensorMap | GradientList): void {
    const owner = this.getClassName();
    if (!this.group.trainMode) {
      throw new Error(
        `${owner}: a step was taken in eval mode. Call optimizer.train() before training steps and ` +
          'optimizer.eval() before evaluation or checkpointing (a new optimizer starts in eval mode).',
      );
    }
    const entries: Array<[string, Tensor | null | undefined]> = Array.isArray(variableGradients)
      ? variableGradients.map((e) => [e.name, e.tensor])
      : Object.entries(variableGradients);

    // Validate everything before mutating anything, so a bad call leaves the optimizer untouched.
    const active: Array<{ variable: Variable; grad: Tensor }> = [];
    const seen = new Set<string>();
    for (const [name, grad] of entries) {
      if (grad == null) continue; // No gradient: skipped completely, unlike a zero gradient.
      if (seen.has(name)) throw new Error(`${owner}.applyGradients: two gradients for "${name}"`);
      seen.add(name);
      const variable = this.lookupVariable(name, 'applyGradients');
      if (!sameShape(grad.shape, variable.shape)) {
        throw new Error(
          `${owner}.applyGradients: gradient for "${name}" has shape [${grad.shape}], variable has [${variable.shape}]`,
        );
      }
      if (variable.dtype !== 'float32') {
        throw new Error(`${owner}.applyGradients: variable "${name}" is ${variable.dtype}, only float32 is supported`);
      }
      const slots = this.paramState.get(name);
      if (slots && !sameShape(slots.get('z')!.shape, variable.shape)) {
        throw new Error(
          `${owner}.applyGradients: stored state for "${name}" has shape [${slots.get('z')!.shape}], ` +
            `variable has [${variable.shape}] (state restored for a different model?)`,
        );
      }
      active.push({ variable, grad });
    }

    const step = advanceSchedule(this.group, this.scheduleHyperparameters);
    // One tidy per parameter: temporaries are freed as we go, so peak memory is one parameter's
    // worth of intermediates rather than the whole model's.
    for (const { variable, grad } of active) {
      const slots = this.slotsFor(variable);
      tidy(() => this.updateParameter(variable, grad, slots, step));
    }
    this.iterations_ = this.group.k;
  }

  /** Frees the optimizer's variables (z and the moment estimates). The model's variables are untouched. */
  override dispose(): void {
    this.disposeParamState();
    super.dispose();
  }

  /**
   * tfjs weight list: `iter`, then {@link GROUP_WEIGHT_NAME} (the float64 group scalars packed as
   * int32 words, so they round-trip exactly), then `<variable>/<slot>` for every parameter with
   * state. The returned tensors are copies owned by the caller.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [
      await this.saveIterations(),
      { name: GROUP_WEIGHT_NAME, tensor: tensor1d(float64ToInt32Words(groupToArray(this.group)), 'int32') },
    ];
    for (const [name, slots] of this.paramState) {
      for (const slot of this.slotNames) {
        out.push({ name: `${name}/${slot}`, tensor: slots.get(slot)!.clone() });
      }
    }
    return out;
  }

  /**
   * Restores what {@link getWeights} produced (the optimizer state only; restore the model's
   * parameters separately, from the same moment). The tensors are copied.
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const owner = this.getClassName();
    if (weightValues.length < 2) {
      throw new Error(
        `${owner}.setWeights: expected at least "iter" and "${GROUP_WEIGHT_NAME}", got ${weightValues.length} entries`,
      );
    }
    if (weightValues[0]!.name !== 'iter') {
      throw new Error(`${owner}.setWeights: first entry must be "iter", got "${weightValues[0]!.name}"`);
    }
    const rest = await this.extractIterations(weightValues);
    const groupEntry = rest[0]!;
    if (groupEntry.name !== GROUP_WEIGHT_NAME) {
      throw new Error(`${owner}.setWeights: second entry must be "${GROUP_WEIGHT_NAME}", got "${groupEntry.name}"`);
    }
    const group = arrayToGroup(owner, int32WordsToFloat64(await groupEntry.tensor.data()));

    const byParam = new Map<string, Map<string, Tensor>>();
    for (const { name, tensor: t } of rest.slice(1)) {
      const cut = name.lastIndexOf('/');
      const param = name.slice(0, cut);
      const slot = name.slice(cut + 1);
      if (cut <= 0 || !this.slotNames.includes(slot)) {
        throw new Error(
          `${owner}.setWeights: unexpected weight "${name}" (expected "<variable>/<${this.slotNames.join('|')}>")`,
        );
      }
      if (!byParam.has(param)) byParam.set(param, new Map());
      byParam.get(param)!.set(slot, t);
    }
    for (const [param, slots] of byParam) {
      for (const slot of this.slotNames) {
        if (!slots.has(slot)) throw new Error(`${owner}.setWeights: "${param}/${slot}" is missing`);
        if (!sameShape(slots.get(slot)!.shape, slots.get('z')!.shape)) {
          throw new Error(`${owner}.setWeights: "${param}/${slot}" and "${param}/z" differ in shape`);
        }
      }
    }

    this.disposeParamState();
    for (const [param, slots] of byParam) {
      const vars = new Map<string, Variable>();
      for (const slot of this.slotNames) {
        const src = slots.get(slot)!;
        vars.set(
          slot,
          tidy(() => src.clone().variable(false)),
        );
      }
      this.paramState.set(param, vars);
    }
    this.group = group;
    this.iterations_ = group.k;
  }

  /** The hyper-parameters, in constructor option form. */
  protected abstract configForState(): Record<string, unknown>;

  /**
   * JSON-friendly snapshot of the optimizer state (see {@link ScheduleFreeStateJSON}); pass it
   * through `JSON.stringify` as is. Take it in eval mode together with the model's x weights, as
   * the reference advises, or in train mode together with y: `group.trainMode` records which.
   */
  async saveState(): Promise<ScheduleFreeStateJSON> {
    const params: ScheduleFreeStateJSON['params'] = [];
    for (const [name, slots] of this.paramState) {
      const entry: ScheduleFreeStateJSON['params'][number] = { name, shape: [...slots.get('z')!.shape], slots: {} };
      for (const slot of this.slotNames) {
        entry.slots[slot] = Array.from(await slots.get(slot)!.data());
      }
      params.push(entry);
    }
    return {
      format: STATE_FORMAT,
      version: STATE_VERSION,
      className: this.getClassName(),
      config: this.configForState(),
      group: { ...this.group },
      params,
    };
  }

  /**
   * Restores a {@link saveState} snapshot (group counters, mode and per-parameter state). The
   * hyper-parameters are not changed: construct the optimizer with `state.config` to resume the
   * same run. Model parameters are not touched; restore them from the same moment.
   */
  loadState(state: ScheduleFreeStateJSON): void {
    const owner = this.getClassName();
    const s = validateStateJSON(owner, owner, this.slotNames, state);
    for (const p of s.params) {
      const existing = engine().registeredVariables[p.name];
      if (existing && !sameShape(existing.shape, p.shape)) {
        throw new Error(
          `${owner}.loadState: "${p.name}" has shape [${p.shape}] in the state, [${existing.shape}] in the model`,
        );
      }
    }
    this.disposeParamState();
    for (const p of s.params) {
      const vars = new Map<string, Variable>();
      for (const slot of this.slotNames) {
        vars.set(
          slot,
          tidy(() => tensor(p.slots[slot]!, p.shape, 'float32').variable(false)),
        );
      }
      this.paramState.set(p.name, vars);
    }
    this.group = { ...s.group };
    this.iterations_ = s.group.k;
  }

  /** State of `variable`, created on its first gradient: z = copy of the variable (y), other slots 0. */
  private slotsFor(variable: Variable): SlotMap {
    let slots = this.paramState.get(variable.name);
    if (!slots) {
      slots = new Map();
      for (const slot of this.slotNames) {
        // The tidy frees the temporaries; the returned variable is kept.
        const init = tidy(() => (slot === 'z' ? variable.clone() : zerosLike(variable)).variable(false));
        slots.set(slot, init);
      }
      this.paramState.set(variable.name, slots);
    }
    return slots;
  }

  /** Moves every parameter that has state by `p ← lerp(p, z, w)`; validates all first. */
  private moveParameters(w: number, caller: string): void {
    const targets = [...this.paramState].map(([name, slots]) => ({
      variable: this.lookupVariable(name, caller),
      z: slots.get('z')!,
    }));
    for (const { variable, z } of targets) tidy(() => variable.assign(lerp(variable, z, w)));
  }

  private lookupVariable(name: string, caller: string): Variable {
    const variable = engine().registeredVariables[name];
    if (!variable) {
      throw new Error(
        `${this.getClassName()}.${caller}: no tfjs variable named "${name}" is registered (disposed, or state restored for another model?)`,
      );
    }
    return variable;
  }

  private disposeParamState(): void {
    for (const slots of this.paramState.values()) {
      for (const v of slots.values()) v.dispose();
    }
    this.paramState.clear();
  }
}
