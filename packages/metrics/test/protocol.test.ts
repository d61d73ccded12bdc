import { describe, expect, it } from 'vitest';
import {
  BRATS_2024_PED,
  BRATS_2024_SSA,
  defineEvaluationProtocol,
  evaluateCase,
  getTask,
  protocolScore,
  regionProtocol,
  type EvaluationProtocol,
} from '../src/index.js';

const shape: [number, number, number] = [10, 10, 10];
const at = (x: number, y: number, z: number) => (x * 10 + y) * 10 + z;

/** Liver block (label 1) with a 2x2x2 tumour (label 2) inside, and a lone tumour voxel outside. */
function liverCase(): Uint8Array {
  const gt = new Uint8Array(1000);
  for (let x = 0; x < 6; x++) for (let y = 0; y < 6; y++) for (let z = 0; z < 6; z++) gt[at(x, y, z)] = 1;
  for (let x = 1; x < 3; x++) for (let y = 1; y < 3; y++) for (let z = 1; z < 3; z++) gt[at(x, y, z)] = 2;
  gt[at(8, 8, 8)] = 2;
  return gt;
}

const liver = (extra: Partial<Parameters<typeof regionProtocol>[0]> = {}) =>
  regionProtocol({
    name: 'liver',
    regions: [
      { name: 'LIVER', labels: [1, 2] },
      { name: 'TUMOUR', labels: [2] },
    ],
    ...extra,
  });

describe('regionProtocol: lesion-wise metrics over a task’s own regions', () => {
  const gt = liverCase();
  const pred = liverCase();
  pred[at(8, 8, 8)] = 0; // the lone lesion is missed

  it('scores a missed lesion with Dice 0 and the field-of-view diagonal as HD95 penalty', () => {
    const r = evaluateCase({ gt: { data: gt, shape }, pred: { data: pred, shape }, task: liver() });
    expect(r.task).toBe('liver');
    expect(r.regionOrder).toEqual(['LIVER', 'TUMOUR']);
    const penalty = Math.hypot(10, 10, 10);
    for (const region of ['LIVER', 'TUMOUR']) {
      const m = r.regions[region]!;
      expect([m.Num_TP, m.Num_FN, m.Num_FP]).toEqual([1, 1, 0]);
      expect(m.LesionWise_Score_Dice).toBeCloseTo(0.5, 12);
      expect(m.LesionWise_Score_HD95).toBeCloseTo(penalty / 2, 5);
    }
    expect(r.regions.TUMOUR!.Legacy_Dice).toBeCloseTo((2 * 8) / (9 + 8), 12);
    expect(protocolScore(r)).toEqual({ dice: 0.5, hd95: r.regions.LIVER!.LesionWise_Score_HD95 });
    expect(protocolScore(r, 'region-wise').dice).toBeCloseTo(
      (r.regions.LIVER!.Legacy_Dice + r.regions.TUMOUR!.Legacy_Dice) / 2,
      12,
    );
  });

  it('does not count GT lesions at or below minGtLesion (voxels or mm³) and uses a given penalty', () => {
    const r = evaluateCase({
      gt: { data: gt, shape },
      pred: { data: pred, shape },
      task: liver({ minGtLesion: { value: 1, unit: 'voxels' }, hd95Penalty: 100 }),
    });
    expect(r.regions.TUMOUR!.LesionWise_Score_Dice).toBe(1);
    expect(r.regions.TUMOUR!.LesionWise_Score_HD95).toBe(0);
    expect(r.lesions.filter((l) => l.region === 'TUMOUR').map((l) => l.counted_in_score)).toEqual([true, false]);
    // 2 mm voxels: the lone voxel is 8 mm³, the 2x2x2 tumour 64 mm³.
    const mm = evaluateCase({
      gt: { data: gt, shape, spacing: [2, 2, 2] },
      pred: { data: pred, shape, spacing: [2, 2, 2] },
      task: liver({ minGtLesion: { value: 64, unit: 'mm3' }, hd95Penalty: 100 }),
    });
    // Both tumour lesions are at or below 64 mm³: nothing counted, no false positive: a perfect score.
    expect(mm.regions.TUMOUR!.LesionWise_Score_Dice).toBe(1);
    expect(mm.regions.TUMOUR!.Num_TP + mm.regions.TUMOUR!.Num_FN).toBe(0);
    // The liver block (1728 mm³) counts and is found; the lone 8 mm³ voxel does not count.
    expect(mm.regions.LIVER!.Num_TP).toBe(1);
    expect(mm.regions.LIVER!.LesionWise_Score_HD95).toBe(0);
  });

  it('removes prediction lesions at or below minPredLesion before matching', () => {
    const fp = liverCase();
    fp[at(9, 0, 9)] = 2;
    const keep = evaluateCase({
      gt: { data: gt, shape },
      pred: { data: fp, shape },
      task: liver({ hd95Penalty: 100 }),
    });
    expect(keep.regions.TUMOUR!.Num_FP).toBe(1);
    expect(keep.regions.TUMOUR!.LesionWise_Score_Dice).toBeCloseTo(2 / 3, 12);
    const drop = evaluateCase({
      gt: { data: gt, shape },
      pred: { data: fp, shape },
      task: liver({ minPredLesion: { value: 1, unit: 'voxels' }, hd95Penalty: 100 }),
    });
    expect(drop.regions.TUMOUR!.Num_FP).toBe(0);
    // The lone GT voxel's own prediction voxel is removed too: missed.
    expect(drop.regions.TUMOUR!.Num_FN).toBe(1);
  });

  it('groups components within the dilation into one lesion', () => {
    const two = new Uint8Array(1000);
    two[at(2, 2, 2)] = 1;
    two[at(2, 2, 5)] = 1; // 3 voxels apart along z
    const p = regionProtocol({ name: 'dots', regions: [{ name: 'DOT', labels: [1] }], hd95Penalty: 50 });
    const apart = evaluateCase({ gt: { data: two, shape }, pred: { data: two, shape }, task: p });
    expect(apart.regions.DOT!.Num_TP).toBe(2);
    const grouped = evaluateCase({
      gt: { data: two, shape },
      pred: { data: two, shape },
      task: { ...p, dilation: 2 },
    });
    expect(grouped.regions.DOT!.Num_TP).toBe(1);
  });
});

describe('BraTS presets', () => {
  it('are protocols, found by every name they go by', () => {
    expect(getTask('ssa')).toBe(BRATS_2024_SSA);
    expect(getTask('BraTS-PED')).toBe(BRATS_2024_PED);
    expect(getTask('brats-2024-ssa')).toBe(BRATS_2024_SSA);
    expect(BRATS_2024_SSA.mergeThrough).toEqual({ region: 'ET', via: 'NETC' });
  });
});

describe('defineEvaluationProtocol', () => {
  const good: EvaluationProtocol = {
    name: 'p',
    labels: [0, 1],
    regions: ['A'],
    regionLabels: { A: [1] },
    dilation: 0,
    minGtLesion: { value: 0, unit: 'voxels' },
    minPredLesion: { value: 0, unit: 'voxels' },
  };
  it.each([
    [{ regionLabels: { A: [2] } }, /protocol 'p': regionLabels.A holds label 2/],
    [{ regions: [] }, /protocol 'p': regions is empty/],
    [{ dilation: -1 }, /protocol 'p': dilation must be a non-negative integer/],
    [{ minGtLesion: { value: 1, unit: 'cm3' } }, /protocol 'p': minGtLesion.unit must be 'voxels' or 'mm3'/],
    [{ hd95Penalty: 0 }, /protocol 'p': hd95Penalty must be a positive number/],
    [{ mergeThrough: { region: 'B', via: 'A' } }, /mergeThrough.region names unknown region B/],
  ])('rejects %o', (patch, message) => {
    expect(() => defineEvaluationProtocol({ ...good, ...patch } as EvaluationProtocol)).toThrow(message);
  });
  it('accepts a consistent protocol unchanged', () => {
    expect(defineEvaluationProtocol(good)).toBe(good);
  });
});
