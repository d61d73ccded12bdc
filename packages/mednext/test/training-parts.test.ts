import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@mednext-ts/tensor3d';
import { MedNeXt, presetConfig } from '../src/model/index.js';
import {
  AdamWScheduled,
  RegionDiceAccumulator,
  createOptimizer,
  decoderLayers,
  finetuneParameterNames,
  reinitializeParameters,
  renameOptimizerState,
  bestEpoch,
  epochTicks,
  renderTrainingPlot,
  type EpochLogEntry,
} from '../src/training/index.js';
import { tinySsaModel } from './helpers/ssa-task.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

describe('fine-tuning selection', () => {
  it('MedNeXt-B has 12 decoder layers; last 10 + heads', () => {
    const arch = MedNeXt.create(presetConfig('B', { deepSupervision: true }), { seed: 1 });
    try {
      const layers = decoderLayers(arch.architecture);
      expect(layers).toEqual([
        'up_3',
        'dec_block_3.0',
        'dec_block_3.1',
        'up_2',
        'dec_block_2.0',
        'dec_block_2.1',
        'up_1',
        'dec_block_1.0',
        'dec_block_1.1',
        'up_0',
        'dec_block_0.0',
        'dec_block_0.1',
      ]);
      const names = finetuneParameterNames(arch, 10);
      expect(names.some((n) => n.startsWith('up_3.'))).toBe(false);
      expect(names.some((n) => n.startsWith('dec_block_3.0.'))).toBe(false);
      expect(names.some((n) => n.startsWith('dec_block_3.1.'))).toBe(true);
      expect(names.some((n) => n.startsWith('up_0.'))).toBe(true);
      for (const h of ['out_0', 'out_1', 'out_2', 'out_3', 'out_4']) expect(names).toContain(`${h}.conv_out.weight`);
      expect(names.some((n) => n.startsWith('enc_') || n.startsWith('bottleneck') || n.startsWith('down_'))).toBe(
        false,
      );
      expect(finetuneParameterNames(arch, 0)).toHaveLength(10); // heads only: 5 x (weight, bias)
      expect(() => finetuneParameterNames(arch, 13)).toThrow(/--train-last must be an integer in 0..12/);
    } finally {
      arch.dispose();
    }
  });
  it('re-initialisation touches only the named parameters, deterministically', () => {
    const m = MedNeXt.create(tinySsaModel, { seed: 1 });
    const before = new Map([...m.params].map(([k, v]) => [k, v.dataSync().slice()]));
    const names = finetuneParameterNames(m, 2);
    reinitializeParameters(m, names, 5);
    const once = new Map(names.map((n) => [n, m.params.get(n)!.dataSync().slice()]));
    reinitializeParameters(m, names, 5);
    for (const [k, v] of m.params) {
      const now = v.dataSync();
      if (names.includes(k)) {
        expect(now).toEqual(once.get(k));
        if (k.endsWith('weight') && !k.includes('norm')) expect(now).not.toEqual(before.get(k));
      } else expect(now).toEqual(before.get(k));
    }
    m.dispose();
  });
});

describe('optimizers', () => {
  it('AdamW poly and cosine schedules', () => {
    const poly = new AdamWScheduled({ kind: 'adamw-poly', learningRate: 0.01, weightDecay: 0 });
    poly.startEpoch(50, 100);
    expect(poly.learningRate).toBeCloseTo(0.01 * 0.5 ** 0.9, 12);
    const cos = new AdamWScheduled({ kind: 'adamw-cosine', learningRate: 0.01, weightDecay: 0 });
    cos.startEpoch(25, 100);
    expect(cos.learningRate).toBeCloseTo((0.01 * (1 + Math.cos(Math.PI / 4))) / 2, 12);
  });
  it('AdamW first step moves each weight by lr (sign of the gradient), with decoupled decay', async () => {
    const w = tf.variable(tf.tensor1d([1, -2, 3]));
    const opt = new AdamWScheduled({ kind: 'adamw-poly', learningRate: 0.1, weightDecay: 0.5 });
    opt.applyGradients({ [w.name]: tf.tensor1d([0.3, -4, 0]) });
    // p·(1 − lr·wd) − lr·m̂/(sqrt(v̂)+eps): m̂ = g, v̂ = g² → ±1 (0 for g = 0)
    const v = await w.data();
    expect(v[0]).toBeCloseTo(1 * 0.95 - 0.1, 6);
    expect(v[1]).toBeCloseTo(-2 * 0.95 + 0.1, 6);
    expect(v[2]).toBeCloseTo(3 * 0.95, 6);
    const state = await opt.saveState();
    const other = new AdamWScheduled({ kind: 'adamw-poly', learningRate: 0.1, weightDecay: 0.5 });
    await other.loadState(state);
    expect((await other.saveState()).words).toEqual({ step: [1] });
    w.dispose();
  });
  it('Schedule-Free state survives a rename round trip', async () => {
    const w = tf.variable(tf.tensor1d([1, 2]));
    const opt = createOptimizer({ kind: 'schedulefree', learningRate: 0.01, weightDecay: 0 });
    opt.train();
    opt.applyGradients({ [w.name]: tf.tensor1d([1, -1]) });
    opt.eval();
    const saved = renameOptimizerState(await opt.saveState(), new Map([[w.name, 'layer.weight']]));
    expect([...saved.tensors.keys()].sort()).toEqual(['layer.weight/exp_avg_sq', 'layer.weight/z']);
    expect(saved.order[0]).toBe('iter');
    const w2 = tf.variable(tf.tensor1d(await w.data()));
    const opt2 = createOptimizer({ kind: 'schedulefree', learningRate: 0.01, weightDecay: 0 });
    await opt2.loadState(renameOptimizerState(saved, new Map([['layer.weight', w2.name]])));
    opt.train();
    opt2.train();
    expect(await w2.data()).toEqual(await w.data());
    expect(() => renameOptimizerState(saved, new Map())).toThrow(/no parameter named 'layer.weight'/);
    opt.dispose();
    opt2.dispose();
  });
});

describe('validation Dice and plot', () => {
  it('accumulates tp/fp/fn per region over patches', () => {
    const acc = new RegionDiceAccumulator(['WT', 'ET']);
    // voxels interleaved [WT, ET]
    acc.add([0.9, 0.2, 0.8, 0.7, 0.1, 0.1], [1, 0, 0, 1, 1, 0]);
    acc.add([0.6, 0.4], [1, 0]);
    // WT: tp 2 (v0, v3), fp 1 (v1), fn 1 (v2) → 4/6; ET: tp 1, no fp/fn → 1
    expect(acc.dice()).toEqual({ WT: 4 / 6, ET: 1 });
    expect(acc.meanDice()).toBeCloseTo((4 / 6 + 1) / 2, 12);
    const empty = new RegionDiceAccumulator(['X']);
    empty.add([0.1], [0]);
    expect(empty.dice()).toEqual({ X: null });
    expect(empty.meanDice()).toBeNull();
  });
  it('renders an SVG with one path per series', () => {
    const e = (epoch: number, loss: number, d: number): EpochLogEntry => ({
      epoch,
      trainLoss: loss,
      valLoss: loss + 0.1,
      valDice: { WT: d, TC: d / 2 },
      valDiceMean: (d * 3) / 4,
      learningRate: 0.001,
      seconds: 1,
      iterations: 1,
      best: true,
      time: '',
    });
    const svg = renderTrainingPlot([e(0, 1, 0.2), e(1, 0.8, 0.5), e(2, 0.6, 0.7)], 'ssa <fold 0>');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('ssa &lt;fold 0&gt;');
    // train loss, val loss, Dice WT, Dice TC, Dice mean, learning rate
    expect(svg.match(/<path /g)).toHaveLength(6);
  });

  it('progress plot: epoch ticks, best-epoch marker, learning-rate panel, legends below the axes', () => {
    expect(epochTicks(0, 3)).toEqual([0, 1, 2, 3]);
    expect(epochTicks(0, 11)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(epochTicks(0, 149)).toEqual([0, 20, 40, 60, 80, 100, 120, 140]);
    expect(epochTicks(5, 5)).toEqual([5]);
    const entries = Array.from({ length: 12 }, (_, epoch) => ({
      epoch,
      trainLoss: 1 / (epoch + 1),
      valLoss: null,
      valDice: { WT: epoch === 7 ? 0.9 : 0.5 },
      valDiceMean: epoch === 7 ? 0.9 : 0.5,
      learningRate: 0.001 * (1 - epoch / 12),
      seconds: 1,
      iterations: 1,
      best: epoch === 0 || epoch === 7,
      time: '',
    }));
    expect(bestEpoch(entries)).toBe(7);
    expect(bestEpoch(entries.map((e) => ({ ...e, best: false })))).toBe(7);
    const svg = renderTrainingPlot(entries, 'ssa fold 0');
    // A marker at the best epoch in each of the three panels.
    expect(svg.match(/class="best-epoch"/g)).toHaveLength(3);
    expect(svg.match(/>best 7</g)).toHaveLength(3);
    expect(svg).toContain('ssa fold 0: learning rate');
    // Intermediate epochs are labelled on the x axis, not only the first and the last.
    for (const t of [0, 2, 4, 6, 8, 10]) expect(svg).toMatch(new RegExp(`text-anchor="middle">${t}</text>`));
    // Every legend entry lies below its panel's plot area, where it cannot cover a curve.
    const plotBottom = Math.max(
      ...[...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill="none"/g)].map(
        (m) => Number(m[1]) + Number(m[2]),
      ),
    );
    for (const name of ['train loss', 'Dice WT', 'Dice mean', 'learning rate']) {
      const y = Number(new RegExp(`y="([\\d.]+)" font-size="10" fill="[^"]+">${name}<`).exec(svg)?.[1]);
      expect(y, name).toBeGreaterThan(plotBottom);
    }
  });
});
