import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';

/** Nested number arrays as stored in the fixtures. */
export type Nested = number | Nested[];

/** Layout of shared/fixtures/schedulefree/*.json (see the README there). */
export interface Fixture {
  fixture: string;
  hyperparameters: {
    lr: number;
    betas: [number, number];
    eps: number;
    weight_decay: number;
    warmup_steps: number;
    r: number;
    weight_lr_power: number;
  };
  model: { param_order: string[]; param_shapes: Record<string, number[]> };
  n_steps: number;
  data: { X: number[][]; T: number[][] };
  initial_params: Record<string, Nested>;
  trajectory: Array<{
    step: number;
    loss_at_y_before_step: number;
    grads: Record<string, Nested | null>;
    scheduled_lr: number;
    lr_max: number;
    weight: number;
    weight_sum: number;
    ckp1: number;
  }>;
  snapshots: Array<{
    step: number;
    params_train_y: Record<string, Nested>;
    params_eval_x: Record<string, Nested>;
    loss_at_y_after_step: number;
    loss_at_x_after_step: number;
    state: {
      k: number;
      weight_sum: number;
      lr_max: number;
      scheduled_lr: number;
      ckp1: number;
      train_mode: boolean;
      per_param: Record<string, { z: Nested; exp_avg_sq: Nested } | null>;
    };
  }>;
}

export const FIXTURE_NAMES = ['adamw_sf_linear_warmup', 'adamw_sf_linear_wd', 'adamw_sf_linear_late_unfreeze'] as const;

export function loadFixture(name: string): Fixture {
  const path = fileURLToPath(new URL(`./fixtures/${name}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Fixture;
}

export function flat(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x];
}

/** Tolerance `|a − e| ≤ atol + rtol·|e|`, element-wise. */
export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Largest violation ratio `|a − e| / (atol + rtol·|e|)`; ≤ 1 means within tolerance. */
export function worstRatio(actual: ArrayLike<number>, expected: readonly number[], tol: Tolerance): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    // diff === 0 passes even a zero tolerance (0/0 would be NaN).
    const r = diff === 0 ? 0 : diff / (tol.atol + tol.rtol * Math.abs(expected[i]!));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}

let counter = 0;
/** Creates uniquely named float32 variables for the fixture's W and b. */
export function makeParams(
  fx: Fixture,
  values: Record<string, Nested> = fx.initial_params,
): Record<string, tf.Variable> {
  const id = counter++;
  const out: Record<string, tf.Variable> = {};
  for (const name of fx.model.param_order) {
    out[name] = tf.variable(
      tf.tensor(flat(values[name]!), fx.model.param_shapes[name]!, 'float32'),
      true,
      `${fx.fixture}_${id}/${name}`,
    );
  }
  return out;
}

/** The fixture loss: mean over all entries of (X·W + b − T)². */
export function fixtureLoss(fx: Fixture, W: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const pred = tf.add(tf.matMul(tf.tensor2d(fx.data.X), W as tf.Tensor2D), b);
    return tf.mean(tf.square(tf.sub(pred, tf.tensor2d(fx.data.T)))) as tf.Scalar;
  });
}

/** The fixture's hyper-parameters in constructor-option form. */
export function adamwOptions(fx: Fixture) {
  const h = fx.hyperparameters;
  return {
    lr: h.lr,
    betas: [h.betas[0], h.betas[1]] as [number, number],
    eps: h.eps,
    weightDecay: h.weight_decay,
    warmupSteps: h.warmup_steps,
    r: h.r,
    weightLrPower: h.weight_lr_power,
  };
}
