import { add, mul, serialization, sub, type Tensor, type Variable } from '@tensorflow/tfjs-core';

import { lerp } from './lerp.js';
import { type SGDScheduleFreeConfig, type SGDScheduleFreeOptions } from './options.js';
import { sgdStepCoefficients, type ScheduleHyperparameters, type StepScalars } from './schedule.js';
import { ScheduleFreeOptimizer, type SlotMap } from './schedule-free-optimizer.js';
import { SGD_RULES } from './variant-rules.js';

/**
 * Schedule-Free SGD, matching `schedulefree.SGDScheduleFree` 1.4.1: the AdamW skeleton with
 * `u = g (+ weightDecay·y)` (no normalisation) and `momentum` as the interpolation constant.
 *
 * Starts in eval mode: call `train()` before training and `eval()` before evaluating or saving.
 */
export class SGDScheduleFree extends ScheduleFreeOptimizer {
  /** @nocollapse */
  static get className(): string {
    return 'SGDScheduleFree';
  }

  protected readonly slotNames = ['z'] as const;
  private cfg: SGDScheduleFreeConfig;

  constructor(options: SGDScheduleFreeOptions = {}) {
    super();
    this.cfg = SGD_RULES.resolve(options);
  }

  /** The resolved hyper-parameters. */
  get config(): Readonly<SGDScheduleFreeConfig> {
    return SGD_RULES.copy(this.cfg);
  }

  /** Learning rate. May be changed between steps; `lr_max` never decreases. */
  get lr(): number {
    return this.cfg.lr;
  }
  set lr(value: number) {
    this.cfg = SGD_RULES.resolve({ ...this.cfg, lr: value });
  }

  protected get interpolationBeta(): number {
    return SGD_RULES.interpolationBeta(this.cfg);
  }

  protected get scheduleHyperparameters(): ScheduleHyperparameters {
    return this.cfg;
  }

  protected updateParameter(y: Variable, grad: Tensor, slots: SlotMap, step: StepScalars): void {
    const z = slots.get('z')!;
    const c = sgdStepCoefficients(this.cfg, step);
    const u = c.weightDecay !== 0 ? add(grad, mul(y, c.weightDecay)) : grad;
    const newY = add(lerp(y, z, c.ckp1), mul(u, c.yStepCoefficient));
    const newZ = sub(z, mul(u, c.lr));
    y.assign(newY);
    z.assign(newZ);
  }

  protected configForState(): Record<string, unknown> {
    return this.getConfig();
  }

  getConfig(): serialization.ConfigDict {
    return SGD_RULES.toOptions(this.cfg);
  }
}

serialization.registerClass(SGDScheduleFree);
