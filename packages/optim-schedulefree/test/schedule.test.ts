import { describe, expect, it } from 'vitest';

import { advanceSchedule, initialGroupScalars, type ScheduleHyperparameters } from '../src/schedule.js';
import { float64ToInt32Words, int32WordsToFloat64 } from '../src/float64-codec.js';

function run(hp: ScheduleHyperparameters, steps: number) {
  const g = initialGroupScalars();
  return Array.from({ length: steps }, () => ({ ...advanceSchedule(g, hp), lrMax: g.lrMax, weightSum: g.weightSum }));
}

const base: ScheduleHyperparameters = { lr: 0.01, warmupSteps: 0, r: 0, weightLrPower: 2 };

describe('advanceSchedule', () => {
  it('starts like the reference: k 0, lr_max -1, eval mode', () => {
    expect(initialGroupScalars()).toEqual({ k: 0, weightSum: 0, lrMax: -1, scheduledLr: 0, ckp1: 0, trainMode: false });
  });

  it('gives c_1 = 1 and c_t = 1/t for a constant lr without warmup (uniform average)', () => {
    const steps = run(base, 6);
    expect(steps[0]!.ckp1).toBe(1);
    steps.forEach((s, i) => expect(s.ckp1).toBeCloseTo(1 / (i + 1), 15));
  });

  it('warms up linearly and reaches exactly lr at step warmupSteps', () => {
    const steps = run({ ...base, warmupSteps: 4 }, 6);
    expect(steps.map((s) => s.lr)).toEqual([0.0025, 0.005, 0.0075, 0.01, 0.01, 0.01]);
    // Weights grow like lr_max², so the first iterate gets 1/(1+4+9+16) of the weight by step 4.
    expect(steps[3]!.weight / steps[3]!.weightSum).toBeCloseTo(16 / 30, 15);
  });

  it('keeps lr_max when the lr is lowered later', () => {
    const g = initialGroupScalars();
    advanceSchedule(g, base);
    const s = advanceSchedule(g, { ...base, lr: 0.001 });
    expect(g.lrMax).toBe(0.01);
    expect(s.lr).toBe(0.001);
    expect(s.weight).toBe(0.01 ** 2);
  });

  it('returns c = 0 instead of NaN when all weights are 0 (lr = 0)', () => {
    const steps = run({ ...base, lr: 0 }, 3);
    for (const s of steps) {
      expect(s.weightSum).toBe(0);
      expect(s.ckp1).toBe(0);
    }
  });

  it('uses 0^0 = 1 for weightLrPower = 0 and lr = 0', () => {
    const steps = run({ ...base, lr: 0, weightLrPower: 0 }, 4);
    steps.forEach((s, i) => expect(s.ckp1).toBeCloseTo(1 / (i + 1), 15));
  });

  it('adds polynomial weighting t^r', () => {
    const steps = run({ ...base, r: 2 }, 3);
    expect(steps.map((s) => s.weight / 1e-4)).toEqual([1, 4, 9].map((v) => expect.closeTo(v, 12)));
    expect(steps[2]!.ckp1).toBeCloseTo(9 / 14, 15);
  });
});

describe('float64 codec', () => {
  it('round-trips doubles exactly through int32 words', () => {
    const values = [0, -1, 1 / 3, 1.111111111111111e-5, 1e-300, 5e-324, Number.MAX_VALUE, -0.0027, 123456789.12345679];
    const back = int32WordsToFloat64(float64ToInt32Words(values));
    expect(back).toEqual(values);
    expect(Object.is(int32WordsToFloat64(float64ToInt32Words([-0]))[0], -0)).toBe(true);
  });

  it('rejects an odd number of words', () => {
    expect(() => int32WordsToFloat64([1, 2, 3])).toThrow(/even number/);
  });
});
