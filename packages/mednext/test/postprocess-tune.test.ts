import { describe, expect, it } from 'vitest';
import { resolvePostprocess } from '../src/postprocess/config.js';
import { labelMapToRegions } from '../src/postprocess/labels.js';
import { tunePostprocess, type CaseScorer, type TuneCase } from '../src/postprocess/tune.js';
import { smallSsaTask } from './helpers/ssa-task.js';

const task = smallSsaTask({ id: 'tune-test', modalities: ['a'] });

/** Plain Dice per region averaged (empty/empty = 1); "HD95" = number of wrong voxels, to exercise the tie-break. */
const scorer: CaseScorer = (pred, c) => {
  const p = labelMapToRegions(pred, task);
  const g = labelMapToRegions(c.labels, task);
  let dice = 0;
  let wrong = 0;
  for (let r = 0; r < 3; r++) {
    let tp = 0;
    let sp = 0;
    let sg = 0;
    for (let i = 0; i < pred.length; i++) {
      tp += p[r]![i]! & g[r]![i]!;
      sp += p[r]![i]!;
      sg += g[r]![i]!;
      wrong += p[r]![i]! ^ g[r]![i]!;
    }
    dice += sp + sg === 0 ? 1 : (2 * tp) / (sp + sg);
  }
  return { dice: dice / 3, hd95: wrong };
};

/** 1 x 1 x 20 line: GT WT at 2..9, TC at 4..7, ET at 5..6; a spurious 2-voxel WT blob of probability 0.6 at 14..15. */
function makeCase(id: string): TuneCase {
  const n = 20;
  const labels = new Uint8Array(n);
  const p = new Float32Array(3 * n);
  for (let z = 2; z < 10; z++) {
    labels[z] = 2;
    p[z] = 0.9;
  }
  for (let z = 4; z < 8; z++) {
    labels[z] = 1;
    p[n + z] = 0.65; // TC is under-confident: needs a threshold below 0.65
  }
  for (let z = 5; z < 7; z++) {
    labels[z] = 3;
    p[2 * n + z] = 0.95;
  }
  p[14] = 0.6;
  p[15] = 0.6;
  return { id, probabilities: { data: p, shape: [3, 1, 1, n] }, labels };
}

describe('tunePostprocess', () => {
  it('finds thresholds and minimum sizes that repair each region and reports the gain', () => {
    const cases = [makeCase('a'), makeCase('b')];
    const start = resolvePostprocess(task, undefined, { thresholds: { WT: 0.5, TC: 0.7, ET: 0.5 } });
    const result = tunePostprocess(cases, task, { thresholds: [0.3, 0.5, 0.7], minSizes: [0, 3] }, scorer, start);
    // baseline: WT keeps the spurious blob, TC (0.65 < 0.7) is missed
    expect(result.baseline.dice).toBeLessThan(0.9);
    expect(result.score.dice).toBeCloseTo(1, 9);
    const wt = result.settings[0]!;
    // WT: the blob goes either with threshold 0.7 (0.6 < 0.7) or with min size 3; the first grid point reaching the best wins
    expect(wt.threshold === 0.7 || wt.minSize === 3).toBe(true);
    expect(result.settings[1]!.threshold).toBeLessThan(0.65);
    expect(result.trials).toHaveLength(3 * 3 * 2);
    expect(result.trials.every((t) => t.score.dice <= result.score.dice + 1e-12)).toBe(true);
  });

  it('uses HD95 to break ties and validates the grid', () => {
    const cases = [makeCase('a')];
    const start = resolvePostprocess(task);
    expect(() => tunePostprocess(cases, task, { thresholds: [1.2], minSizes: [0] }, scorer, start)).toThrow(
      /threshold 1.2/,
    );
    expect(() => tunePostprocess(cases, task, { thresholds: [0.5], minSizes: [-1] }, scorer, start)).toThrow(
      /minimum size -1/,
    );
    expect(() => tunePostprocess([], task, { thresholds: [0.5], minSizes: [0] }, scorer, start)).toThrow(/no cases/);
    // a scorer with constant Dice: only the tie-breaker can choose; fewer wrong voxels must win
    const flat: CaseScorer = (pred, c, shape) => ({ dice: 0.5, hd95: scorer(pred, c, shape).hd95 });
    const result = tunePostprocess(cases, task, { thresholds: [0.5, 0.7], minSizes: [0] }, flat, start);
    expect(result.settings[0]!.threshold).toBe(0.7);
    expect(result.score.hd95).toBeLessThan(result.baseline.hd95);
  });
});
