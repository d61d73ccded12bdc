import '@tensorflow/tfjs-backend-cpu';
import './test-gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { AdamWScheduleFree, GROUP_WEIGHT_NAME, SGDScheduleFree, type ScheduleFreeStateJSON } from '../src/index.js';
import { fixtureLoss, flat, loadFixture, makeParams, type Fixture } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The fixture's linear least-squares problem, trained end to end with tfjs autodiff.
const fx: Fixture = loadFixture('adamw_sf_linear_wd');
const OPTIONS = { lr: 0.01, weightDecay: 0.01, warmupSteps: 5 };
const TOTAL = 20;
const CUT = 8;

type Params = Record<string, tf.Variable>;

function steps(opt: AdamWScheduleFree, p: Params, n: number): void {
  for (let i = 0; i < n; i++) opt.minimize(() => fixtureLoss(fx, p.W!, p.b!));
}

/** y and x of the parameters as exact float32 arrays (leaves the optimizer in train mode). */
async function yAndX(opt: AdamWScheduleFree, p: Params): Promise<number[][]> {
  const y = [...(await p.W!.data()), ...(await p.b!.data())];
  opt.eval();
  const x = [...(await p.W!.data()), ...(await p.b!.data())];
  opt.train();
  return [y, x];
}

/** Simulates loading a model checkpoint: clobber the variables, then assign the saved values. */
function restoreModel(p: Params, saved: Record<string, Float32Array>): void {
  for (const [n, v] of Object.entries(p)) {
    v.assign(tf.zerosLike(v));
    v.assign(tf.tensor(saved[n]!, v.shape));
  }
}

async function snapshotModel(p: Params): Promise<Record<string, Float32Array>> {
  return { W: (await p.W!.data()) as Float32Array, b: (await p.b!.data()) as Float32Array };
}

describe('checkpoint and resume', () => {
  it('getWeights/setWeights in train mode resumes bit-for-bit', async () => {
    const pa = makeParams(fx);
    const a = new AdamWScheduleFree(OPTIONS);
    a.train();
    steps(a, pa, TOTAL);
    const uninterrupted = await yAndX(a, pa);

    const pb = makeParams(fx);
    const b = new AdamWScheduleFree(OPTIONS);
    b.train();
    steps(b, pb, CUT);
    const weights = await b.getWeights();
    const model = await snapshotModel(pb);
    b.dispose();
    restoreModel(pb, model);
    const c = new AdamWScheduleFree(OPTIONS);
    await c.setWeights(weights);
    tf.dispose(weights.map((w) => w.tensor));
    expect(c.mode).toBe('train');
    expect(c.iterations).toBe(CUT);
    steps(c, pb, TOTAL - CUT);
    const resumed = await yAndX(c, pb);
    expect(resumed).toEqual(uninterrupted);
    // The run really moved away from the initial W.
    expect(uninterrupted[0]!.slice(0, 12)).not.toEqual(flat(fx.initial_params.W!).map(Math.fround));
    a.dispose();
    c.dispose();
  });

  it('an eval-mode JSON checkpoint (x weights) resumes bit-for-bit like an uninterrupted run with the same eval()/train()', async () => {
    // Reference: same run, eval() + train() at the cut but no save (the x → y round trip is not exact in
    // floating point, in the reference too, so this is the run an eval-mode checkpoint must reproduce).
    const pa = makeParams(fx);
    const a = new AdamWScheduleFree(OPTIONS);
    a.train();
    steps(a, pa, CUT);
    a.eval();
    a.train();
    steps(a, pa, TOTAL - CUT);
    const expected = await yAndX(a, pa);

    const pb = makeParams(fx);
    const b = new AdamWScheduleFree(OPTIONS);
    b.train();
    steps(b, pb, CUT);
    b.eval();
    const json = JSON.stringify(await b.saveState());
    const xWeights = await snapshotModel(pb);
    b.dispose();

    restoreModel(pb, xWeights);
    const state = JSON.parse(json) as ScheduleFreeStateJSON;
    const c = new AdamWScheduleFree(state.config);
    c.loadState(state);
    expect(c.mode).toBe('eval');
    expect(c.groupState).toEqual(state.group);
    c.train();
    steps(c, pb, TOTAL - CUT);
    expect(await yAndX(c, pb)).toEqual(expected);
    a.dispose();
    c.dispose();
  });

  it('lays out getWeights as iter, float64 group scalars (int32 words), then <variable>/<slot>', async () => {
    const p = makeParams(fx);
    const opt = new AdamWScheduleFree(OPTIONS);
    opt.train();
    steps(opt, p, 3);
    const w = await opt.getWeights();
    expect(w.map((e) => e.name)).toEqual([
      'iter',
      GROUP_WEIGHT_NAME,
      `${p.W!.name}/z`,
      `${p.W!.name}/exp_avg_sq`,
      `${p.b!.name}/z`,
      `${p.b!.name}/exp_avg_sq`,
    ]);
    expect(w[1]!.tensor.dtype).toBe('int32');
    expect(w[1]!.tensor.shape).toEqual([12]);
    // A fresh optimizer restored from these weights reports the exact float64 weight sum.
    const other = new AdamWScheduleFree(OPTIONS);
    await other.setWeights(w);
    expect(other.groupState).toEqual(opt.groupState);
    await expect(other.setWeights(w.filter((e) => !e.name.endsWith('/exp_avg_sq')))).rejects.toThrow(
      /"[^"]+\/exp_avg_sq" is missing/,
    );
    await expect(other.setWeights(w.slice(1))).rejects.toThrow(/first entry must be "iter"/);
    await expect(other.setWeights([w[0]!, w[2]!])).rejects.toThrow(/second entry must be "schedulefree\/group"/);
    tf.dispose(w.map((e) => e.tensor));
    opt.dispose();
    other.dispose();
  });

  it('rejects state documents that do not fit, naming the problem', async () => {
    const p = makeParams(fx);
    const sgd = new SGDScheduleFree({ lr: 0.1 });
    sgd.train();
    sgd.minimize(() => fixtureLoss(fx, p.W!, p.b!));
    const state = await sgd.saveState();
    const adam = new AdamWScheduleFree();
    expect(() => adam.loadState(state)).toThrow(/saved by "SGDScheduleFree", cannot load it into AdamWScheduleFree/);
    const sgd2 = new SGDScheduleFree();
    expect(() => sgd2.loadState({ ...state, version: 2 } as unknown as ScheduleFreeStateJSON)).toThrow(/version/);
    const short = structuredClone(state);
    short.params[0]!.slots.z!.pop();
    expect(() => sgd2.loadState(short)).toThrow(/params\[0\]"\.slots\.z has 11 values, shape needs 12/);
    const wrongShape = structuredClone(state);
    wrongShape.params[0]!.shape = [4, 3];
    expect(() => sgd2.loadState(wrongShape)).toThrow(/has shape \[4,3\] in the state, \[3,4\] in the model/);
    sgd.dispose();
  });
});

describe('tfjs serialization', () => {
  it('registers both classes and round-trips their config', () => {
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    for (const [name, make] of [
      ['AdamWScheduleFree', () => new AdamWScheduleFree({ lr: 0.0027, betas: [0.95, 0.99], warmupSteps: 3 })],
      ['SGDScheduleFree', () => new SGDScheduleFree({ lr: 0.5, momentum: 0.8, r: 1 })],
    ] as const) {
      const entry = map[name];
      expect(entry, name).toBeDefined();
      const opt = make();
      const [cls, fromConfig] = entry!;
      const copy = fromConfig(cls, opt.getConfig()) as AdamWScheduleFree | SGDScheduleFree;
      expect(copy.getClassName()).toBe(name);
      expect(copy.getConfig()).toEqual(opt.getConfig());
    }
  });
});
