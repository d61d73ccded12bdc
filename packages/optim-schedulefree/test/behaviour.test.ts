import '@tensorflow/tfjs-backend-cpu';
import './test-gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { AdamWScheduleFree, SGDScheduleFree } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

let id = 0;
const created: tf.Variable[] = [];
function variable(values: number[], shape?: number[]): tf.Variable {
  const v = tf.variable(tf.tensor(values, shape), true, `behaviour_${id++}`);
  created.push(v);
  return v;
}
afterEach(() => {
  tf.dispose(created.splice(0));
});

const read = async (v: tf.Tensor) => Array.from(await v.data());

describe('train/eval modes', () => {
  it('starts in eval mode and refuses to step until train() is called', () => {
    const w = variable([1, 2]);
    const opt = new AdamWScheduleFree();
    expect(opt.mode).toBe('eval');
    expect(() => opt.applyGradients({ [w.name]: tf.ones([2]) })).toThrow(/eval mode.*optimizer\.train\(\)/);
    // The failed call must not have advanced anything.
    expect(opt.groupState.k).toBe(0);
    expect(opt.stateVariableNames).toEqual([]);
    opt.train();
    expect(opt.mode).toBe('train');
    opt.applyGradients({ [w.name]: tf.ones([2]) });
    opt.eval();
    expect(() => opt.minimize(() => tf.sum(w) as tf.Scalar)).toThrow(
      /AdamWScheduleFree: a step was taken in eval mode/,
    );
    opt.dispose();
  });

  it('first train() only flips the flag; repeated train()/eval() calls are no-ops', async () => {
    const w = variable([1, -2, 3]);
    const opt = new SGDScheduleFree({ lr: 0.1 });
    opt.train();
    expect(await read(w)).toEqual([1, -2, 3]);
    for (let i = 0; i < 3; i++) opt.applyGradients([{ name: w.name, tensor: tf.tensor([1, 2, -1]) }]);
    opt.eval();
    const x = await read(w);
    opt.eval();
    expect(await read(w)).toEqual(x);
    opt.train();
    const y = await read(w);
    opt.train();
    expect(await read(w)).toEqual(y);
    // x and y differ after a few steps (otherwise the swap would be untestable).
    expect(x).not.toEqual(y);
    opt.dispose();
  });
});

describe('parameter subsets', () => {
  it('skips variables without a gradient entirely and never moves them in train()/eval()', async () => {
    const trained = variable([0.5, -0.5]);
    const frozen = variable([3, 4, 5]);
    const opt = new AdamWScheduleFree({ lr: 0.01, weightDecay: 0.1 });
    opt.train();
    for (let i = 0; i < 4; i++) {
      // minimize with varList = only `trained`, although the loss depends on both.
      opt.minimize(() => tf.add(tf.sum(tf.square(trained)), tf.sum(frozen)) as tf.Scalar, false, [trained]);
    }
    expect(opt.stateVariableNames).toEqual([trained.name]);
    opt.eval();
    opt.train();
    opt.eval();
    expect(await read(frozen)).toEqual([3, 4, 5]);
    expect(await read(trained)).not.toEqual([0.5, -0.5].map(Math.fround));
    opt.dispose();
  });

  it('treats a zero gradient differently from no gradient (decay and averaging still apply)', async () => {
    const a = variable([1, 1]);
    const b = variable([1, 1]);
    const opt = new SGDScheduleFree({ lr: 0.1, weightDecay: 0.5 });
    opt.train();
    opt.applyGradients([
      { name: a.name, tensor: tf.zeros([2]) },
      { name: b.name, tensor: null },
    ]);
    // u = 0 + 0.5·y = 0.5; c_1 = 1 so y = z − lr·u = 1 − 0.05.
    expect(await read(a)).toEqual([0.95, 0.95].map(Math.fround));
    expect(await read(b)).toEqual([1, 1]);
    expect(opt.stateVariableNames).toEqual([a.name]);
    opt.dispose();
  });

  it('gives a late variable z = its current value and the group counters (bias correction from k)', async () => {
    const a = variable([1]);
    const late = variable([2]);
    const opt = new AdamWScheduleFree({ lr: 0.1 });
    opt.train();
    for (let i = 0; i < 5; i++) opt.applyGradients({ [a.name]: tf.tensor([1]) });
    opt.applyGradients({ [a.name]: tf.tensor([1]), [late.name]: tf.tensor([0.3]) });
    const st = await opt.saveState();
    const entry = st.params.find((p) => p.name === late.name)!;
    // t = 6, v = 0.001·0.09: u = 0.3 / sqrt(v / (1 − 0.999^6)) = sqrt((1 − 0.999^6)/0.001) ≈ 2.45, not
    // Adam's usual 1, because the bias correction uses the group's t (spec §8).
    const t = 6;
    const u = 0.3 / (Math.sqrt((0.001 * 0.09) / (1 - 0.999 ** t)) + 1e-8);
    expect(u).toBeGreaterThan(2.4);
    expect(u).toBeLessThan(2.5);
    expect(entry.slots.z![0]).toBeCloseTo(2 - 0.1 * u, 5);
    expect(entry.slots.exp_avg_sq![0]).toBeCloseTo(0.001 * 0.09, 10);
    // y = lerp(2, 2, c) + lr·(β1(1 − c) − 1)·u with c = 1/6 (constant lr).
    const c = 1 / 6;
    expect((await read(late))[0]).toBeCloseTo(2 + 0.1 * (0.9 * (1 - c) - 1) * u, 5);
    opt.dispose();
  });
});

describe('errors and bookkeeping', () => {
  it('names unknown variables and mismatched shapes', () => {
    const w = variable([1, 2]);
    const opt = new AdamWScheduleFree();
    opt.train();
    expect(() => opt.applyGradients({ no_such_variable: tf.ones([2]) })).toThrow(
      /no tfjs variable named "no_such_variable"/,
    );
    expect(() => opt.applyGradients({ [w.name]: tf.ones([3]) })).toThrow(
      /gradient for "behaviour_\d+" has shape \[3\], variable has \[2\]/,
    );
    expect(() =>
      opt.applyGradients([
        { name: w.name, tensor: tf.ones([2]) },
        { name: w.name, tensor: tf.ones([2]) },
      ]),
    ).toThrow(/two gradients for "behaviour_\d+"/);
    expect(opt.groupState.k).toBe(0);
    opt.dispose();
  });

  it('validates options with messages naming the option', () => {
    expect(() => new AdamWScheduleFree({ betas: [0, 0.999] })).toThrow(/"betas\[0\]" must be > 0/);
    expect(() => new AdamWScheduleFree({ betas: [0.9, 1] })).toThrow(/"betas\[1\]" must be < 1/);
    expect(() => new AdamWScheduleFree({ lr: -1 })).toThrow(/"lr" must be >= 0/);
    expect(() => new AdamWScheduleFree({ warmupSteps: 2.5 })).toThrow(/"warmupSteps" must be an integer/);
    expect(() => new SGDScheduleFree({ momentum: 1 })).toThrow(/SGDScheduleFree: option "momentum" must be < 1/);
    expect(() => new SGDScheduleFree({ weightDecay: Number.NaN })).toThrow(/finite number/);
  });

  it('has the reference defaults', () => {
    expect(new AdamWScheduleFree().config).toEqual({
      lr: 0.0025,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      warmupSteps: 0,
      r: 0,
      weightLrPower: 2,
    });
    expect(new SGDScheduleFree().config).toEqual({
      lr: 1,
      momentum: 0.9,
      weightDecay: 0,
      warmupSteps: 0,
      r: 0,
      weightLrPower: 2,
    });
  });

  it('lets lr change between steps without lowering lr_max', () => {
    const w = variable([1]);
    const opt = new SGDScheduleFree({ lr: 0.5 });
    opt.train();
    opt.applyGradients({ [w.name]: tf.ones([1]) });
    opt.lr = 0.1;
    opt.applyGradients({ [w.name]: tf.ones([1]) });
    expect(opt.groupState.lrMax).toBe(0.5);
    expect(opt.groupState.scheduledLr).toBe(0.1);
    expect(() => (opt.lr = -2)).toThrow(/"lr"/);
    opt.dispose();
  });

  it('does not leak tensors per step, and dispose() frees its state', () => {
    const w = variable(
      Array.from({ length: 12 }, (_, i) => i / 10),
      [3, 4],
    );
    const opt = new AdamWScheduleFree({ weightDecay: 0.01 });
    opt.train();
    const loss = () => tf.sum(tf.square(w)) as tf.Scalar;
    opt.minimize(loss);
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) opt.minimize(loss);
    opt.eval();
    opt.train();
    expect(tf.memory().numTensors).toBe(after1);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(after1 - 2);
  });

  it('counts iterations like other tfjs optimizers', () => {
    const w = variable([1]);
    const opt = new SGDScheduleFree();
    opt.train();
    for (let i = 0; i < 3; i++) opt.applyGradients({ [w.name]: tf.ones([1]) });
    expect(opt.iterations).toBe(3);
    opt.dispose();
  });
});
