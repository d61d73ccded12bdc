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

/**
 * The per-step coefficients of the Schedule-Free AdamW update, in float64 and in the reference's
 * order of operations. The tfjs update and the WebGPU kernel both take their numbers from here,
 * so the two cannot drift apart.
 */
export interface AdamWStepCoefficients {
  /** Second-moment decay β2. */
  beta2: number;
  /** `1 − β2`, computed (not the literal 0.001). */
  oneMinusBeta2: number;
  /** `1 − β2^t`, from the group counter. */
  biasCorrection2: number;
  /** Added after the square root. */
  eps: number;
  /** Decoupled decay, evaluated at y. */
  weightDecay: number;
  /** Warmed-up learning rate `lr_t` (the z step). */
  lr: number;
  /** Averaging coefficient `c_t` (the weight of z in `lerp(y, z, c_t)`). */
  ckp1: number;
  /** Coefficient of the normalised step in the y update: `lr_t·(β1·(1 − c_t) − 1)`. */
  yStepCoefficient: number;
}

/** {@link AdamWStepCoefficients} for one step of the AdamW variant. */
export function adamwStepCoefficients(
  cfg: { betas: readonly [number, number]; eps: number; weightDecay: number },
  step: StepScalars,
): AdamWStepCoefficients {
  const [beta1, beta2] = cfg.betas;
  return {
    beta2,
    oneMinusBeta2: 1 - beta2,
    biasCorrection2: 1 - Math.pow(beta2, step.t),
    eps: cfg.eps,
    weightDecay: cfg.weightDecay,
    lr: step.lr,
    ckp1: step.ckp1,
    yStepCoefficient: step.lr * (beta1 * (1 - step.ckp1) - 1),
  };
}

/** The per-step coefficients of the Schedule-Free SGD update (no normalisation, momentum in place of β1). */
export interface SGDStepCoefficients {
  /** Decoupled decay, evaluated at y. */
  weightDecay: number;
  /** Warmed-up learning rate `lr_t`. */
  lr: number;
  /** Averaging coefficient `c_t`. */
  ckp1: number;
  /** `lr_t·(momentum·(1 − c_t) − 1)`. */
  yStepCoefficient: number;
}

/** {@link SGDStepCoefficients} for one step of the SGD variant. */
export function sgdStepCoefficients(
  cfg: { momentum: number; weightDecay: number },
  step: StepScalars,
): SGDStepCoefficients {
  return {
    weightDecay: cfg.weightDecay,
    lr: step.lr,
    ckp1: step.ckp1,
    yStepCoefficient: step.lr * (cfg.momentum * (1 - step.ckp1) - 1),
  };
}

/**
 * How `lerp(a, b, w)` is evaluated, PyTorch's two-branch formula: `a + w·(b − a)` when `|w| < 0.5`,
 * else `b − (b − a)·(1 − w)` (so `w = 1` gives exactly `b`). `1 − w` is computed in float64.
 */
export interface LerpForm {
  /** Whether the second form, `b − (b − a)·(1 − w)`, is used. */
  fromEnd: boolean;
  /** The factor multiplying `b − a`: `w`, or `1 − w` in the second form. */
  factor: number;
}

/** {@link LerpForm} of weight `w`. */
export function lerpForm(w: number): LerpForm {
  return Math.abs(w) < 0.5 ? { fromEnd: false, factor: w } : { fromEnd: true, factor: 1 - w };
}

/** Weight `w` of `p ← lerp(p, z, w)` that moves the parameters from x to y (`train()`): `1 − β`. */
export function toTrainWeight(beta: number): number {
  return 1 - beta;
}

/** Weight `w` of `p ← lerp(p, z, w)` that moves the parameters from y to x (`eval()`): `1 − 1/β`, an extrapolation. */
export function toEvalWeight(beta: number): number {
  return 1 - 1 / beta;
}
