import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { AdamWScheduleFree, SGDScheduleFree, type GradientList, type ScheduleFreeOptimizer } from '../src/index.js';
import { worstRatio } from './helpers.js';
import { RefScheduleFree, seededNormals, type RefConfig } from './reference-f64.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/*
 * Options the fixtures do not exercise (SGD, r > 0, weightLrPower ≠ 2, other betas, a parameter
 * that joins late) are checked against the independent float64 model in reference-f64.ts. Inputs
 * (initial values, gradients) are rounded to float32 first so that only the port's float32
 * arithmetic differs. Tolerance as for the fixtures: |a − e| ≤ 1e-6 + 1e-5·|e|; 30 steps with a
 * few float32 roundings (2^-24 ≈ 6e-8 relative) each stay inside 1e-5 relative (measured: ≤ 20% of
 * the bound).
 */
const TOL = { atol: 1e-6, rtol: 1e-5 };
const SHAPES: Record<string, number[]> = { a: [5, 3], b: [7] };
let runId = 0;

async function compare(
  opt: ScheduleFreeOptimizer,
  ref: RefScheduleFree,
  cfg: RefConfig,
  steps: number,
  frozenUntil: Record<string, number>,
): Promise<void> {
  const id = runId++;
  const vars: Record<string, tf.Variable> = {};
  const init: Record<string, number[]> = {};
  let seed = 7 + id;
  for (const [name, shape] of Object.entries(SHAPES)) {
    const n = shape.reduce((x, y) => x * y, 1);
    init[name] = seededNormals(seed++, n).map(Math.fround);
    vars[name] = tf.variable(tf.tensor(init[name], shape), true, `ref_cmp_${id}/${name}`);
  }
  opt.train();
  for (let s = 1; s <= steps; s++) {
    const grads: Record<string, number[] | null> = {};
    const list: GradientList = [];
    for (const [name, shape] of Object.entries(SHAPES)) {
      const active = s > (frozenUntil[name] ?? 0);
      const g = active ? seededNormals(1000 * s + seed++, init[name]!.length).map(Math.fround) : null;
      grads[name] = g;
      list.push({ name: vars[name]!.name, tensor: g && tf.tensor(g, shape) });
    }
    const current: Record<string, number[]> = {};
    for (const name of Object.keys(SHAPES)) current[name] = Array.from(await vars[name]!.data());
    ref.step(grads, current);
    opt.applyGradients(list);
    tf.dispose(list.map((e) => e.tensor).filter((t): t is tf.Tensor => t != null));

    if (s % 5 === 0 || s === steps) {
      // The variables hold y in train mode and x in eval mode.
      const expectParams = async (which: 'y' | 'x') => {
        for (const name of Object.keys(SHAPES)) {
          const p = ref.params.get(name);
          const got = await vars[name]!.data();
          // Without state the parameter must still hold its initial value exactly.
          expect(
            worstRatio(got, p ? p[which] : init[name]!, p ? TOL : { atol: 0, rtol: 0 }),
            `${cfg.kind} ${which}.${name}@${s}`,
          ).toBeLessThanOrEqual(1);
        }
      };
      await expectParams('y');
      opt.eval();
      await expectParams('x');
      opt.train();
      const state = await opt.saveState();
      for (const entry of state.params) {
        const name = entry.name.split('/')[1]!;
        expect(
          worstRatio(entry.slots.z!, ref.params.get(name)!.z, TOL),
          `${cfg.kind} z.${name}@${s}`,
        ).toBeLessThanOrEqual(1);
        if (cfg.kind === 'adamw') {
          const v = ref.params.get(name)!.v;
          expect(worstRatio(entry.slots.exp_avg_sq!, v, { atol: 0, rtol: 1e-5 })).toBeLessThanOrEqual(1);
        }
      }
      expect(state.group.k).toBe(ref.k);
      // Same float64 formula, possibly different association: equal to the last ulp or so.
      expect(Math.abs(state.group.weightSum - ref.weightSum)).toBeLessThanOrEqual(1e-14 * ref.weightSum);
      expect(state.group.lrMax).toBe(ref.lrMax);
    }
  }
  opt.dispose();
  tf.dispose(Object.values(vars));
}

describe('port vs independent float64 model', () => {
  it('SGDScheduleFree with warmup, decay, r = 1 and a late parameter', async () => {
    const cfg: RefConfig = {
      kind: 'sgd',
      lr: 0.05,
      beta: 0.8,
      weightDecay: 0.02,
      warmupSteps: 5,
      r: 1,
      weightLrPower: 2,
    };
    const opt = new SGDScheduleFree({ lr: 0.05, momentum: 0.8, weightDecay: 0.02, warmupSteps: 5, r: 1 });
    await compare(opt, new RefScheduleFree(cfg), cfg, 30, { b: 7 });
  });

  it('SGDScheduleFree with the reference defaults (lr 1, momentum 0.9)', async () => {
    const cfg: RefConfig = { kind: 'sgd', lr: 1, beta: 0.9, weightDecay: 0, warmupSteps: 0, r: 0, weightLrPower: 2 };
    await compare(new SGDScheduleFree(), new RefScheduleFree(cfg), cfg, 20, {});
  });

  it('AdamWScheduleFree with r = 0.5, weightLrPower = 1, betas (0.95, 0.99), decay and a late parameter', async () => {
    const cfg: RefConfig = {
      kind: 'adamw',
      lr: 0.02,
      beta: 0.95,
      beta2: 0.99,
      eps: 1e-8,
      weightDecay: 0.05,
      warmupSteps: 4,
      r: 0.5,
      weightLrPower: 1,
    };
    const opt = new AdamWScheduleFree({
      lr: 0.02,
      betas: [0.95, 0.99],
      weightDecay: 0.05,
      warmupSteps: 4,
      r: 0.5,
      weightLrPower: 1,
    });
    await compare(opt, new RefScheduleFree(cfg), cfg, 30, { a: 3 });
  });

  it('AdamWScheduleFree with weightLrPower = 0 (uniform average despite warmup)', async () => {
    const cfg: RefConfig = {
      kind: 'adamw',
      lr: 0.01,
      beta: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      warmupSteps: 10,
      r: 0,
      weightLrPower: 0,
    };
    const opt = new AdamWScheduleFree({ lr: 0.01, warmupSteps: 10, weightLrPower: 0 });
    await compare(opt, new RefScheduleFree(cfg), cfg, 15, {});
  });
});
