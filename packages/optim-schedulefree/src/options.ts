/**
 * Constructor options, their defaults (those of facebookresearch/schedule_free 1.4.1) and
 * validation. Validation is stricter than the reference (which checks nothing for AdamW) only where
 * a value would otherwise fail later with a NaN or a division by zero far from its cause.
 */

/** Options of {@link AdamWScheduleFree}; every field is optional and defaults to the reference. */
export interface AdamWScheduleFreeOptions {
  /** Peak learning rate (default 0.0025). */
  lr?: number;
  /** `[β1, β2]`: β1 is the y-interpolation constant (not a first-moment EMA), β2 Adam's second-moment decay (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to `sqrt(v / bias_correction2)`, outside the square root (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay, evaluated at y (default 0). */
  weightDecay?: number;
  /** Linear warmup length in steps; 0 disables it (default 0). */
  warmupSteps?: number;
  /** Polynomial weighting power of the average, weight ∝ t^r (default 0). */
  r?: number;
  /** Averaging weights are `lr_max^weightLrPower` (default 2). */
  weightLrPower?: number;
}

/** Options of {@link SGDScheduleFree}; every field is optional and defaults to the reference. */
export interface SGDScheduleFreeOptions {
  /** Learning rate (default 1.0). */
  lr?: number;
  /** Interpolation constant between x and z, in (0, 1) (default 0.9). */
  momentum?: number;
  /** Decoupled weight decay, evaluated at y (default 0). */
  weightDecay?: number;
  /** Linear warmup length in steps; 0 disables it (default 0). */
  warmupSteps?: number;
  /** Polynomial weighting power of the average (default 0). */
  r?: number;
  /** Averaging weights are `lr_max^weightLrPower` (default 2). */
  weightLrPower?: number;
}

/** Fully resolved AdamW hyper-parameters. */
export type AdamWScheduleFreeConfig = Required<AdamWScheduleFreeOptions>;
/** Fully resolved SGD hyper-parameters. */
export type SGDScheduleFreeConfig = Required<SGDScheduleFreeOptions>;

export const ADAMW_DEFAULTS: AdamWScheduleFreeConfig = Object.freeze({
  lr: 0.0025,
  betas: [0.9, 0.999] as const,
  eps: 1e-8,
  weightDecay: 0,
  warmupSteps: 0,
  r: 0,
  weightLrPower: 2,
});

export const SGD_DEFAULTS: SGDScheduleFreeConfig = Object.freeze({
  lr: 1.0,
  momentum: 0.9,
  weightDecay: 0,
  warmupSteps: 0,
  r: 0,
  weightLrPower: 2,
});

interface Range {
  min?: number;
  max?: number;
  /** Whether `min` itself is excluded. */
  openMin?: boolean;
  /** Whether `max` itself is excluded. */
  openMax?: boolean;
  integer?: boolean;
}

/** Throws a descriptive error unless `value` is a finite number inside `range`. */
export function checkNumber(owner: string, name: string, value: unknown, range: Range = {}): number {
  const fail = (why: string): never => {
    throw new Error(`${owner}: option "${name}" ${why}, got ${String(value)}`);
  };
  if (typeof value !== 'number' || !Number.isFinite(value)) fail('must be a finite number');
  const v = value as number;
  if (range.integer && !Number.isInteger(v)) fail('must be an integer');
  if (range.min !== undefined && (range.openMin ? v <= range.min : v < range.min)) {
    fail(`must be ${range.openMin ? '>' : '>='} ${range.min}`);
  }
  if (range.max !== undefined && (range.openMax ? v >= range.max : v > range.max)) {
    fail(`must be ${range.openMax ? '<' : '<='} ${range.max}`);
  }
  return v;
}

/** Shared validation of the schedule options common to both optimizers. */
function checkSchedule(
  owner: string,
  cfg: { lr: number; weightDecay: number; warmupSteps: number; r: number; weightLrPower: number },
): void {
  checkNumber(owner, 'lr', cfg.lr, { min: 0 });
  checkNumber(owner, 'weightDecay', cfg.weightDecay, { min: 0 });
  checkNumber(owner, 'warmupSteps', cfg.warmupSteps, { min: 0, integer: true });
  checkNumber(owner, 'r', cfg.r);
  checkNumber(owner, 'weightLrPower', cfg.weightLrPower);
}

/** Merges user options over the AdamW defaults and validates the result. */
export function resolveAdamWOptions(options: AdamWScheduleFreeOptions = {}): AdamWScheduleFreeConfig {
  const owner = 'AdamWScheduleFree';
  const cfg: AdamWScheduleFreeConfig = { ...ADAMW_DEFAULTS, ...stripUndefined(options) };
  if (!Array.isArray(cfg.betas) || cfg.betas.length !== 2) {
    throw new Error(`${owner}: option "betas" must be a pair [beta1, beta2], got ${JSON.stringify(cfg.betas)}`);
  }
  // beta1 = 0 would divide by zero in eval() (x = lerp(y, z, 1 - 1/beta1)).
  checkNumber(owner, 'betas[0]', cfg.betas[0], { min: 0, max: 1, openMin: true, openMax: true });
  checkNumber(owner, 'betas[1]', cfg.betas[1], { min: 0, max: 1, openMax: true });
  checkNumber(owner, 'eps', cfg.eps, { min: 0 });
  checkSchedule(owner, cfg);
  return { ...cfg, betas: [cfg.betas[0], cfg.betas[1]] };
}

/** Merges user options over the SGD defaults and validates them (0 < momentum < 1, lr >= 0, wd >= 0, as the reference). */
export function resolveSGDOptions(options: SGDScheduleFreeOptions = {}): SGDScheduleFreeConfig {
  const owner = 'SGDScheduleFree';
  const cfg: SGDScheduleFreeConfig = { ...SGD_DEFAULTS, ...stripUndefined(options) };
  checkNumber(owner, 'momentum', cfg.momentum, { min: 0, max: 1, openMin: true, openMax: true });
  checkSchedule(owner, cfg);
  return cfg;
}

/** Drops keys whose value is `undefined`, so `{ lr: undefined }` keeps the default like an absent key. */
function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
