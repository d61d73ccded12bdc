import '@tensorflow/tfjs-backend-cpu';
import './test-gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { AdamWScheduleFree } from '../src/index.js';
import { adamwOptions, FIXTURE_NAMES, fixtureLoss, flat, loadFixture, makeParams, worstRatio } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/*
 * The fixtures trained end to end: tfjs computes the gradients itself (float32 autodiff) through
 * optimizer.minimize(), with varList = [W] while b is frozen in the late-unfreeze fixture. Unlike the
 * replay, float32 gradient errors feed back into the trajectory, so the tolerance is 10× looser:
 * |a − e| ≤ 1e-5 + 1e-4·|e|. The least-squares problem is well conditioned, so errors stay near the
 * float32 rounding level (measured: below 1% of this bound).
 */
const TOL = { atol: 1e-5, rtol: 1e-4 };

describe.each(FIXTURE_NAMES)('end to end %s', (name) => {
  it('reproduces y, x and the losses at every snapshot with tfjs autodiff', async () => {
    const fx = loadFixture(name);
    const p = makeParams(fx);
    const opt = new AdamWScheduleFree(adamwOptions(fx));
    opt.train();
    for (const rec of fx.trajectory) {
      const varList = fx.model.param_order.filter((n) => rec.grads[n] !== null).map((n) => p[n]!);
      const loss = opt.minimize(() => fixtureLoss(fx, p.W!, p.b!), true, varList)!;
      expect(worstRatio(await loss.data(), [rec.loss_at_y_before_step], TOL), `loss@${rec.step}`).toBeLessThanOrEqual(
        1,
      );
      loss.dispose();
      const snap = fx.snapshots.find((s) => s.step === rec.step);
      if (!snap) continue;
      for (const n of fx.model.param_order) {
        expect(
          worstRatio(await p[n]!.data(), flat(snap.params_train_y[n]!), TOL),
          `y.${n}@${snap.step}`,
        ).toBeLessThanOrEqual(1);
      }
      opt.eval();
      for (const n of fx.model.param_order) {
        expect(
          worstRatio(await p[n]!.data(), flat(snap.params_eval_x[n]!), TOL),
          `x.${n}@${snap.step}`,
        ).toBeLessThanOrEqual(1);
      }
      const lossX = fixtureLoss(fx, p.W!, p.b!);
      expect(worstRatio(await lossX.data(), [snap.loss_at_x_after_step], TOL)).toBeLessThanOrEqual(1);
      lossX.dispose();
      opt.train();
    }
    opt.dispose();
    tf.dispose(Object.values(p));
  });
});
