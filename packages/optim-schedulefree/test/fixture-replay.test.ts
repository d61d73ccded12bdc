import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { AdamWScheduleFree, type GradientList } from '../src/index.js';
import {
  adamwOptions,
  FIXTURE_NAMES,
  fixtureLoss,
  flat,
  loadFixture,
  makeParams,
  worstRatio,
  type Fixture,
  type Tolerance,
} from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function check(label: string, actual: ArrayLike<number>, expected: number[], tol: Tolerance): void {
  expect(worstRatio(actual, expected, tol), `${label}: worst |a-e|/(atol+rtol|e|)`).toBeLessThanOrEqual(1);
}

/*
 * Tolerances, |a − e| ≤ atol + rtol·|e|.
 *
 * The fixtures are float64; the port keeps tensors in float32 (unit roundoff 2^-24 ≈ 6e-8) and only
 * the scalar coefficients in float64. The gradients are replayed, so rounding errors do not feed back
 * through the loss: each step adds a handful of float32 roundings to y, z and v, and over the 50
 * steps of the longest fixture they add up to at most ~50 · 4 · 6e-8 ≈ 1e-5 relative. Hence rtol
 * 1e-5 (the spec's suggestion for a float32 port), plus atol 1e-6 for entries near zero, where
 * cancellation in lerp leaves an absolute error of a few ulps of |y| ≈ |z| ≈ 1. exp_avg_sq is a
 * convex combination of positive terms, so its relative error cannot exceed the same bound and it
 * needs no atol. The losses are computed in float32 from these parameters: rtol 1e-5.
 * Measured worst case: 6.4% of these bounds. The group scalars (k, lr_max, weight_sum, scheduled_lr,
 * c_t) are float64 JS numbers computed in the reference's order of operations and must be identical.
 */
const TOL: Record<string, Tolerance> = {
  params: { atol: 1e-6, rtol: 1e-5 },
  expAvgSq: { atol: 0, rtol: 1e-5 },
  loss: { atol: 0, rtol: 1e-5 },
};

function gradientsFor(fx: Fixture, params: Record<string, tf.Variable>, step: number): GradientList {
  const rec = fx.trajectory[step - 1]!;
  return fx.model.param_order.map((n) => {
    const g = rec.grads[n];
    return { name: params[n]!.name, tensor: g == null ? null : tf.tensor(flat(g), fx.model.param_shapes[n]!) };
  });
}

async function compareSnapshot(
  fx: Fixture,
  opt: AdamWScheduleFree,
  params: Record<string, tf.Variable>,
  snap: Fixture['snapshots'][number],
  restoreY: boolean,
): Promise<void> {
  const tag = `${fx.fixture}@${snap.step}`;
  const ys: Record<string, Float32Array> = {};
  for (const n of fx.model.param_order) {
    ys[n] = (await params[n]!.data()) as Float32Array;
    check(`${tag} y.${n}`, ys[n], flat(snap.params_train_y[n]!), TOL.params!);
  }
  const lossY = fixtureLoss(fx, params.W!, params.b!);
  check(`${tag} loss(y)`, await lossY.data(), [snap.loss_at_y_after_step], TOL.loss!);
  lossY.dispose();

  const state = await opt.saveState();
  expect(state.group.k).toBe(snap.state.k);
  expect(state.group.trainMode).toBe(snap.state.train_mode);
  expect(state.group.weightSum).toBe(snap.state.weight_sum);
  expect(state.group.lrMax).toBe(snap.state.lr_max);
  expect(state.group.scheduledLr).toBe(snap.state.scheduled_lr);
  expect(state.group.ckp1).toBe(snap.state.ckp1);
  for (const n of fx.model.param_order) {
    const ref = snap.state.per_param[n];
    const mine = state.params.find((p) => p.name === params[n]!.name);
    if (ref === null) {
      expect(mine, `${tag}: ${n} must have no state yet`).toBeUndefined();
      continue;
    }
    expect(mine, `${tag}: ${n} must have state`).toBeDefined();
    check(`${tag} z.${n}`, mine!.slots.z!, flat(ref!.z), TOL.params!);
    check(`${tag} exp_avg_sq.${n}`, mine!.slots.exp_avg_sq!, flat(ref!.exp_avg_sq), TOL.expAvgSq!);
  }

  opt.eval();
  expect(opt.mode).toBe('eval');
  for (const n of fx.model.param_order) {
    check(`${tag} x.${n}`, await params[n]!.data(), flat(snap.params_eval_x[n]!), TOL.params!);
  }
  const lossX = fixtureLoss(fx, params.W!, params.b!);
  check(`${tag} loss(x)`, await lossX.data(), [snap.loss_at_x_after_step], TOL.loss!);
  lossX.dispose();
  opt.train();
  expect(opt.mode).toBe('train');
  for (const n of fx.model.param_order) {
    // y → x → y is not exact (x = (y − (1−β1)z)/β1 amplifies rounding); a few float32 ulps of |y|, |z|.
    check(`${tag} roundtrip.${n}`, await params[n]!.data(), Array.from(ys[n]!), { atol: 1e-6, rtol: 1e-6 });
    if (restoreY) params[n]!.assign(tf.tensor(ys[n]!, params[n]!.shape));
  }
}

async function replay(fx: Fixture, restoreY: boolean): Promise<void> {
  const params = makeParams(fx);
  const opt = new AdamWScheduleFree(adamwOptions(fx));
  expect(opt.mode).toBe('eval');
  opt.train();
  for (const rec of fx.trajectory) {
    const grads = gradientsFor(fx, params, rec.step);
    opt.applyGradients(grads);
    tf.dispose(grads.map((g) => g.tensor!).filter((t) => t != null));
    const g = opt.groupState;
    // Scalars are plain float64 JS numbers computed in the reference's order: exactly equal.
    expect(g.scheduledLr).toBe(rec.scheduled_lr);
    expect(g.lrMax).toBe(rec.lr_max);
    expect(g.weightSum).toBe(rec.weight_sum);
    expect(g.ckp1).toBe(rec.ckp1);
    const snap = fx.snapshots.find((s) => s.step === rec.step);
    if (snap) await compareSnapshot(fx, opt, params, snap, restoreY);
  }
  opt.dispose();
  tf.dispose(Object.values(params));
}

describe.each(FIXTURE_NAMES)('fixture %s', (name) => {
  const fx = loadFixture(name);

  it('replays the recorded gradients (snapshot procedure as the fixture: y restored after eval/train)', async () => {
    await replay(fx, true);
  });

  it('replays with real eval()/train() round trips mid-run (y not restored)', async () => {
    await replay(fx, false);
  });
});
