/**
 * What distinguishes the Schedule-Free variants' hyper-parameters — how they are resolved, copied, saved and
 * which one is the x/z interpolation constant — in one table per variant, shared by the tfjs optimizers and
 * their WebGPU twins so that both read and save them identically.
 */
import {
  resolveAdamWOptions,
  resolveSGDOptions,
  type AdamWScheduleFreeConfig,
  type SGDScheduleFreeConfig,
} from './options.js';
import type { ScheduleHyperparameters } from './schedule.js';

/** The hyper-parameter rules of one Schedule-Free variant with resolved configuration `C`. */
export interface VariantRules<C extends ScheduleHyperparameters> {
  /** Merges options over the variant's defaults and validates them (throws a message naming the option). */
  resolve(options: Partial<C>): C;
  /** A copy sharing no arrays with `cfg`, safe to hand out. */
  copy(cfg: C): C;
  /** Interpolation constant between x and z (β1 for AdamW, momentum for SGD). */
  interpolationBeta(cfg: C): number;
  /** The hyper-parameters in constructor option form (saved with the state; tfjs `getConfig`). */
  toOptions(cfg: C): Record<string, number | number[]>;
}

/** Schedule-Free AdamW. */
export const ADAMW_RULES: VariantRules<AdamWScheduleFreeConfig> = {
  resolve: resolveAdamWOptions,
  copy: (cfg) => ({ ...cfg, betas: [...cfg.betas] as [number, number] }),
  interpolationBeta: (cfg) => cfg.betas[0],
  toOptions: (c) => ({
    lr: c.lr,
    betas: [c.betas[0], c.betas[1]],
    eps: c.eps,
    weightDecay: c.weightDecay,
    warmupSteps: c.warmupSteps,
    r: c.r,
    weightLrPower: c.weightLrPower,
  }),
};

/** Schedule-Free SGD. */
export const SGD_RULES: VariantRules<SGDScheduleFreeConfig> = {
  resolve: resolveSGDOptions,
  copy: (cfg) => ({ ...cfg }),
  interpolationBeta: (cfg) => cfg.momentum,
  toOptions: (cfg) => ({ ...cfg }),
};
