/**
 * The per-step scalar bookkeeping shared by every Schedule-Free variant: warmup, `lr_max`, the
 * averaging weight and the interpolation coefficient `c_t`. Everything here is plain JS numbers
 * (float64) on purpose: the reference computes these scalars in Python floats, and rounding them
 * to float32 would make `weight_sum` drift over long runs.
 */

/** Group-level counters, stored in the optimizer state (the reference keeps them in the param group). */
export interface GroupScalars {
  /** Number of steps taken by the group (the reference's `k`). */
  k: number;
  /** Running sum of the averaging weights. */
  weightSum: number;
  /** Largest scheduled learning rate seen so far; starts at -1 as in the reference. */
  lrMax: number;
  /** Learning rate used by the last step (after warmup); logging only. */
  scheduledLr: number;
  /** Averaging coefficient `c_t` of the last step (upstream `ckp1`); logging only. */
  ckp1: number;
  /** Whether the parameters currently hold y (train mode) rather than x (eval mode). */
  trainMode: boolean;
}

/** Hyper-parameters that drive the scalar schedule. */
export interface ScheduleHyperparameters {
  lr: number;
  warmupSteps: number;
  r: number;
  weightLrPower: number;
}

/** The scalars one step needs, computed before any tensor is touched. */
export interface StepScalars {
  /** 1-based step number `t = k + 1`. */
  t: number;
  /** Warmed-up learning rate `lr_t`. */
  lr: number;
  /** Averaging weight of this step. */
  weight: number;
  /** Averaging coefficient `c_t = weight / weight_sum` (0 when the sum is 0). */
  ckp1: number;
}

/** The state of a freshly constructed optimizer: no step taken, eval mode (as the reference). */
export function initialGroupScalars(): GroupScalars {
  return { k: 0, weightSum: 0, lrMax: -1, scheduledLr: 0, ckp1: 0, trainMode: false };
}

/**
 * Advances the group counters by one step and returns the scalars the tensor update needs.
 * Mutates `group` (k, weightSum, lrMax, scheduledLr, ckp1) exactly as the reference mutates its
 * param group.
 */
export function advanceSchedule(group: GroupScalars, hp: ScheduleHyperparameters): StepScalars {
  const k = group.k;
  const t = k + 1;
  // Linear warmup: t / warmup_steps while k < warmup_steps (float division, reaching exactly 1).
  const sched = k < hp.warmupSteps ? t / hp.warmupSteps : 1;
  const lr = hp.lr * sched;
  // lr_max only grows, so lowering lr later never shrinks the averaging weights.
  const lrMax = Math.max(lr, group.lrMax);
  // Math.pow(0, 0) is 1 like Python's 0.0 ** 0, which weightLrPower = 0 with lrMax = 0 relies on.
  const weight = Math.pow(t, hp.r) * Math.pow(lrMax, hp.weightLrPower);
  const weightSum = group.weightSum + weight;
  // Python raises ZeroDivisionError for 0.0 / 0.0 and the reference then uses 0; JS would give NaN.
  const ckp1 = weightSum === 0 ? 0 : weight / weightSum;

  group.scheduledLr = lr;
  group.lrMax = lrMax;
  group.weightSum = weightSum;
  group.ckp1 = ckp1;
  group.k = t;
  return { t, lr, weight, ckp1 };
}
