import { add, div, mul, serialization, sqrt, sub, type Tensor, type Variable } from '@tensorflow/tfjs-core';

import { lerp } from './lerp.js';
import { resolveAdamWOptions, type AdamWScheduleFreeConfig, type AdamWScheduleFreeOptions } from './options.js';
import { adamwStepCoefficients, type ScheduleHyperparameters, type StepScalars } from './schedule.js';
import { ScheduleFreeOptimizer, type SlotMap } from './schedule-free-optimizer.js';

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
    this.cfg = resolveAdamWOptions(options);
  }

  /** The resolved hyper-parameters. */
  get config(): Readonly<AdamWScheduleFreeConfig> {
    return { ...this.cfg, betas: [...this.cfg.betas] as [number, number] };
  }

  /** Peak learning rate. May be changed between steps; `lr_max` (and so the averaging weights) never decreases. */
  get lr(): number {
    return this.cfg.lr;
  }
  set lr(value: number) {
    this.cfg = resolveAdamWOptions({ ...this.cfg, lr: value });
  }

  protected get interpolationBeta(): number {
    return this.cfg.betas[0];
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
    const c = this.cfg;
    return {
      lr: c.lr,
      betas: [c.betas[0], c.betas[1]],
      eps: c.eps,
      weightDecay: c.weightDecay,
      warmupSteps: c.warmupSteps,
      r: c.r,
      weightLrPower: c.weightLrPower,
    };
  }
}

serialization.registerClass(AdamWScheduleFree);
