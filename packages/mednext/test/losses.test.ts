import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  batchDiceFocalLoss,
  bceWithLogits,
  deepSupervisionLoss,
  deepSupervisionWeights,
  downsampleTarget,
  regionDiceBceLoss,
  sigmoidFocalLoss,
  softDice,
} from '../src/index.js';
import { nearestIndices } from '../src/losses/deep-supervision.js';
import { useBackend } from './helpers.js';

// Expected values worked out by hand (σ(2) = 0.880797, log 2 = 0.693147, BCE(2, 0) = 2 + log(1 + e^−2)).
describe('region losses', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });
  // One sample, two voxels, one channel (NDHWC [1,1,1,2,1]): logits (0, 2), target (1, 0).
  const logits = (): tf.Tensor => tf.tensor([0, 2], [1, 1, 1, 2, 1]);
  const target = (): tf.Tensor => tf.tensor([1, 0], [1, 1, 1, 2, 1]);

  it('BCE with logits: mean of log 2 and 2 + log(1 + e^-2)', () => {
    expect(bceWithLogits(logits(), target()).dataSync()[0]).toBeCloseTo(1.4100376, 6);
    // Stable for large logits (no overflow): BCE(100, 1) = 0, BCE(-100, 1) = 100.
    expect(bceWithLogits(tf.tensor([100, -100]), tf.tensor([1, 1])).dataSync()[0]).toBeCloseTo(50, 4);
  });

  it('soft Dice (nnU-Net v1, smooth 0): 2·0.5 / (0.5 + 0.880797 + 1)', () => {
    expect(softDice(logits(), target()).dataSync()[0]).toBeCloseTo(0.4200274, 6);
    expect(regionDiceBceLoss(logits(), target()).dataSync()[0]).toBeCloseTo(0.9900102, 6);
  });

  it('a confident perfect prediction gives Dice term -1 and BCE ~0', () => {
    const l = tf.tensor([20, -20, 20], [1, 1, 1, 3, 1]);
    const y = tf.tensor([1, 0, 1], [1, 1, 1, 3, 1]);
    expect(regionDiceBceLoss(l, y).dataSync()[0]).toBeCloseTo(-1, 6);
  });

  it('sigmoid focal loss, gamma 2: mean of 0.5²·log 2 and 0.880797²·2.126928', () => {
    expect(sigmoidFocalLoss(logits(), target()).dataSync()[0]).toBeCloseTo(0.9116825, 6);
    // gamma 0 is plain BCE.
    expect(sigmoidFocalLoss(logits(), target(), { gamma: 0 }).dataSync()[0]).toBeCloseTo(1.4100376, 6);
  });

  it('batch Dice pools the batch; per-sample Dice averages samples', () => {
    // Two samples: logits (0, 2) / (-1, 3), targets (1, 0) / (1, 1).
    const l = tf.tensor([0, 2, -1, 3], [2, 1, 1, 2, 1]);
    const y = tf.tensor([1, 0, 1, 1], [2, 1, 1, 2, 1]);
    expect(softDice(l, y).dataSync()[0]).toBeCloseTo(0.5891879, 6);
    expect(softDice(l, y, { batchDice: true, smooth: 1e-5 }).dataSync()[0]).toBeCloseTo(0.6145739, 6);
    expect(batchDiceFocalLoss(l, y).dataSync()[0]).toBeCloseTo(1.0167618, 6);
  });

  it('channels are separate Dice terms (channel axis last by default, or given)', () => {
    // Channel 0 perfect, channel 1 all wrong → mean Dice ≈ 0.5.
    const l = tf.tensor([30, -30, 30, -30], [1, 1, 1, 2, 2]);
    const y = tf.tensor([1, 1, 1, 1], [1, 1, 1, 2, 2]);
    expect(softDice(l, y).dataSync()[0]).toBeCloseTo(0.5, 6);
    const lc = tf.transpose(l, [0, 4, 1, 2, 3]);
    const yc = tf.transpose(y, [0, 4, 1, 2, 3]);
    expect(softDice(lc, yc, { channelAxis: 1 }).dataSync()[0]).toBeCloseTo(0.5, 6);
  });
});

describe('deep supervision', () => {
  it('nnU-Net weights for the 5 MedNeXt outputs are 16:8:4:2:1 / 31', () => {
    const w = deepSupervisionWeights(5);
    [16, 8, 4, 2, 1].forEach((v, i) => expect(w[i]).toBeCloseTo(v / 31, 12));
  });

  it('order-0 resize picks f·i + f/2 for exact factors, skimage rounding otherwise', () => {
    expect(nearestIndices(8, 4)).toEqual([1, 3, 5, 7]);
    expect(nearestIndices(16, 4)).toEqual([2, 6, 10, 14]);
    expect(nearestIndices(32, 2)).toEqual([8, 24]);
    // 10 → 3 voxels: source coordinates (i + 0.5)·10/3 − 0.5 = 1.17, 4.5, 7.83 → 1, 5, 8.
    expect(nearestIndices(10, 3)).toEqual([1, 5, 8]);
  });

  it('downsampleTarget keeps voxel (2i+1, 2j+1, 2k+1)', () => {
    const t = tf.tensor(
      Array.from({ length: 64 }, (_, i) => i),
      [1, 4, 4, 4, 1],
    ) as tf.Tensor5D;
    const d = downsampleTarget(t, 2);
    expect(d.shape).toEqual([1, 2, 2, 2, 1]);
    const idx = (a: number, b: number, c: number): number => (a * 4 + b) * 4 + c;
    expect(Array.from(d.dataSync())).toEqual([
      idx(1, 1, 1),
      idx(1, 1, 3),
      idx(1, 3, 1),
      idx(1, 3, 3),
      idx(3, 1, 1),
      idx(3, 1, 3),
      idx(3, 3, 1),
      idx(3, 3, 3),
    ]);
  });

  it('weighted sum over outputs', () => {
    const outs = [tf.tensor([0, 2], [1, 1, 1, 2, 1]), tf.tensor([0], [1, 1, 1, 1, 1])];
    const tgts = [tf.tensor([1, 0], [1, 1, 1, 2, 1]), tf.tensor([1], [1, 1, 1, 1, 1])];
    // 0.75·BCE(first) + 0.25·log 2.
    const v = deepSupervisionLoss(outs, tgts, bceWithLogits, [0.75, 0.25]).dataSync()[0];
    expect(v).toBeCloseTo(0.75 * 1.4100376 + 0.25 * Math.LN2, 6);
    expect(() => deepSupervisionLoss(outs, tgts.slice(1), bceWithLogits)).toThrow(/must match/);
  });
});
