import { add, div, mul, serialization, sqrt, sub, type Tensor, type Variable } from '@tensorflow/tfjs-core';

import { lerp } from './lerp.js';
import { type AdamWScheduleFreeConfig, type AdamWScheduleFreeOptions } from './options.js';
import { adamwStepCoefficients, type ScheduleHyperparameters, type StepScalars } from './schedule.js';
import { ScheduleFreeOptimizer, type SlotMap } from './schedule-free-optimizer.js';
import { ADAMW_RULES } from './variant-rules.js';

/**
 * Schedule-Free AdamW (Defazio et al. 2024, "The Road Less Scheduled"), matching
 * `schedulefree.AdamWScheduleFree` 1.4.1 step for step: bias correction from the group counter,
 * eps outside the square root, decoupled weight decay at y, no first-moment EMA.
 *
 * Starts in eval mode: call `train()` before training and `eval()` before evaluating or saving.
 */
export class AdamWScheduleFree extends ScheduleFreeOptimizer {
  /** @nocollapse */
  static get className(): string {
    return 'AdamWScheduleFree';
  }

  protected readonly slotNames = ['z', 'exp_avg_sq'] as const;
  private cfg: AdamWScheduleFreeConfig;

  constructor(options: AdamWScheduleFreeOptions = {}) {
    super();
    this.cfg = ADAMW_RULES.resolve(options);
  }

  /** The resolved hyper-parameters. */
  get config(): Readonly<AdamWScheduleFreeConfig> {
    return ADAMW_RULES.copy(this.cfg);
  }

  /** Peak learning rate. May be changed between steps; `lr_max` (and so the averaging weights) never decreases. */
  get lr(): number {
    return this.cfg.lr;
  }
  set lr(value: number) {
    this.cfg = ADAMW_RULES.resolve({ ...this.cfg, lr: value });
  }

  protected get interpolationBeta(): number {
    return ADAMW_RULES.interpolationBeta(this.cfg);
  }

  protected get scheduleHyperparameters(): ScheduleHyperparameters {
    return this.cfg;
  }

  protected updateParameter(y: Variable, grad: Tensor, slots: SlotMap, step: StepScalars): void {
    const z = slots.get('z')!;
    const v = slots.get('exp_avg_sq')!;
    // All scalar coefficients in float64, in the reference's order of operations (shared with the WebGPU kernel).
    const c = adamwStepCoefficients(this.cfg, step);
    const newV = add(mul(v, c.beta2), mul(mul(grad, c.oneMinusBeta2), grad));
    // eps is added after the square root and after bias correction.
    const denom = add(sqrt(div(newV, c.biasCorrection2)), c.eps);
    let u = div(grad, denom);
    // Decoupled decay evaluated at y (current parameter contents), not preconditioned.
    if (c.weightDecay !== 0) u = add(u, mul(y, c.weightDecay));
    const newY = add(lerp(y, z, c.ckp1), mul(u, c.yStepCoefficient));
    const newZ = sub(z, mul(u, c.lr));
    v.assign(newV);
    y.assign(newY);
    z.assign(newZ);
  }

  protected configForState(): Record<string, unknown> {
    return this.getConfig();
  }

  getConfig(): serialization.ConfigDict {
    return ADAMW_RULES.toOptions(this.cfg);
  }
}

serialization.registerClass(AdamWScheduleFree);
