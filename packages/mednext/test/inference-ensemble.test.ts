import { slidingWindowInference, type ChannelVolume, type PatchPredictor } from '@mednext-ts/tensor3d';
import { describe, expect, it } from 'vitest';
import { ProbabilityAverager, averageProbabilities } from '../src/inference/ensemble.js';

const map = (values: number[]): ChannelVolume => ({ data: Float32Array.from(values), shape: [2, 1, 1, 2] });

describe('ensembling', () => {
  it('averages with equal weights by default', () => {
    const out = averageProbabilities([map([0, 0.2, 0.4, 1]), map([1, 0.4, 0.4, 0]), map([0.5, 0.6, 0.1, 0.5])]);
    expect(Array.from(out.data)).toEqual([0.5, 0.4, 0.3, 0.5].map((v) => Math.fround(v)));
    expect(out.shape).toEqual([2, 1, 1, 2]);
  });

  it('applies given weights: sum w p / sum w', () => {
    const out = averageProbabilities([map([0, 1, 0.5, 0.25]), map([1, 0, 0.5, 0.75])], [3, 1]);
    expect(Array.from(out.data)).toEqual([0.25, 0.75, 0.5, 0.375]);
  });

  it('streams members one at a time and rejects mismatched grids and bad weights', () => {
    const avg = new ProbabilityAverager();
    expect(() => avg.result()).toThrow(/no probability maps/);
    avg.add(map([1, 1, 1, 1]), 0.5);
    expect(() => avg.add({ data: new Float32Array(3), shape: [3, 1, 1, 1] })).toThrow(/shape \[3, 1, 1, 1\] differs/);
    expect(() => avg.add(map([0, 0, 0, 0]), 0)).toThrow(/positive/);
    avg.add(map([0, 0, 0, 0]), 1.5);
    expect(avg.count).toBe(2);
    expect(Array.from(avg.result().data)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(() => averageProbabilities([map([0, 0, 0, 0])], [1, 2])).toThrow(/2 weights for 1/);
  });

  it('mixes models with different patch sizes on the same image', async () => {
    const image: ChannelVolume = {
      data: Float32Array.from({ length: 9 * 7 * 5 }, (_, i) => (i % 13) / 13),
      shape: [1, 9, 7, 5],
    };
    const constant =
      (value: number, voxels: number): PatchPredictor =>
      (_p, count) =>
        new Float32Array(count * voxels).fill(value);
    const a = await slidingWindowInference(image, constant(0.2, 4 * 4 * 4), { patchSize: [4, 4, 4], outChannels: 1 });
    const b = await slidingWindowInference(image, constant(0.8, 6 * 3 * 5), { patchSize: [6, 3, 5], outChannels: 1 });
    const out = averageProbabilities([a, b], [1, 3]);
    for (const v of out.data) expect(v).toBeCloseTo(0.65, 6);
  });
});
