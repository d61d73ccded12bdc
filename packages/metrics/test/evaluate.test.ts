import { describe, expect, it } from 'vitest';
import type { Shape3 } from '@mednext-ts/tensor3d/volume';
import { evaluateCase } from '../src/index.js';

const shape: Shape3 = [24, 24, 24];
const n = 24 ** 3;

/** Sets `value` in the box [x0, x1) x [y0, y1) x [z0, z1). */
function box(data: Uint8Array, value: number, [x0, x1]: number[], [y0, y1]: number[], [z0, z1]: number[]): Uint8Array {
  for (let x = x0; x < x1; x++)
    for (let y = y0; y < y1; y++) for (let z = z0; z < z1; z++) data[(x * 24 + y) * 24 + z] = value;
  return data;
}

describe('evaluateCase input checks', () => {
  const ok = { data: new Uint8Array(n), shape };
  it('names the case on a shape mismatch', () => {
    expect(() =>
      evaluateCase({
        id: 'BraTS-X-1',
        task: 'ssa',
        gt: ok,
        pred: { data: new Uint8Array(24 * 24 * 23), shape: [24, 24, 23] },
      }),
    ).toThrow(/case BraTS-X-1: GT shape \[24, 24, 24\] differs from prediction shape \[24, 24, 23\]/);
  });
  it('rejects a spacing mismatch between GT and prediction', () => {
    expect(() =>
      evaluateCase({ id: 'c1', task: 'ped', gt: { ...ok, spacing: [1, 1, 1] }, pred: { ...ok, spacing: [1, 1, 1.5] } }),
    ).toThrow(/case c1: GT spacing \[1, 1, 1\] differs from prediction spacing \[1, 1, 1.5\]/);
  });
  it('rejects non-integer labels and labels the task does not define', () => {
    const frac = new Float32Array(n);
    frac[5] = 1.5;
    expect(() => evaluateCase({ id: 'c2', task: 'ssa', gt: ok, pred: { data: frac, shape } })).toThrow(
      /case c2: prediction has a non-integer label value 1.5 at voxel 5/,
    );
    const four = new Uint8Array(n);
    four[7] = 4;
    expect(() => evaluateCase({ id: 'c3', task: 'ssa', gt: { data: four, shape }, pred: ok })).toThrow(
      /case c3: GT has label 4 at voxel 7, which task ssa does not define/,
    );
    // The official code treats such labels as background; allowUnknownLabels does the same.
    const r = evaluateCase({ task: 'ssa', gt: { data: four, shape }, pred: ok, allowUnknownLabels: true });
    expect(r.regions.WT!.LesionWise_Score_Dice).toBe(1);
    expect(() => evaluateCase({ task: 'gli' as never, gt: ok, pred: ok })).toThrow(/unknown BraTS protocol "gli"/);
  });
});

describe('evaluateCase semantics', () => {
  it('empty GT and prediction: perfect scores everywhere (spec §5.4, §6)', () => {
    const r = evaluateCase({
      task: 'ped',
      gt: { data: new Uint8Array(n), shape },
      pred: { data: new Uint8Array(n), shape },
    });
    expect(r.regionOrder).toEqual(['WT', 'TC', 'ET', 'NETC', 'CC', 'ED']);
    for (const region of r.regionOrder) {
      expect(r.regions[region]).toMatchObject({
        Num_TP: 0,
        Num_FP: 0,
        Num_FN: 0,
        Sensitivity: 1,
        Specificity: 1,
        Legacy_Dice: 1,
        Legacy_HD95: 0,
        LesionWise_Score_Dice: 1,
        LesionWise_Score_HD95: 0,
      });
    }
  });

  it('anisotropic spacing: GT threshold in mm³ but prediction filter in voxels (official) vs mm³ (corrected)', () => {
    // 4x4x2 = 32 voxels of 1x1x2 mm = 64 mm³: a counted GT lesion (> 50 mm³), but a prediction group
    // of 32 <= 50 voxels, so the official filter deletes the identical prediction.
    const gt = box(new Uint8Array(n), 2, [8, 12], [8, 12], [8, 10]);
    const pred = gt.slice();
    const input = {
      task: 'ssa' as const,
      gt: { data: gt, shape },
      pred: { data: pred, shape, spacing: [1, 1, 2] as [number, number, number] },
    };
    const official = evaluateCase(input).regions.WT!;
    expect(official).toMatchObject({
      Num_TP: 0,
      Num_FN: 1,
      Num_FP: 0,
      LesionWise_Score_Dice: 0,
      LesionWise_Score_HD95: 374,
    });
    expect(official.Legacy_Dice).toBe(0);
    expect(official.Legacy_HD95).toBe(374);
    expect(official.GT_Complete_Volume).toBe(64);
    const corrected = evaluateCase({ ...input, corrected: true }).regions.WT!;
    expect(corrected).toMatchObject({
      Num_TP: 1,
      Num_FN: 0,
      Num_FP: 0,
      LesionWise_Score_Dice: 1,
      LesionWise_Score_HD95: 0,
    });
  });

  it('lesion-number quirks: sensitivity and legacy HD95 use the numbers; corrected uses binary masks', () => {
    // Prediction: a surviving 5x5x5 FP group first in C order (number 1) and the exact tumour (number 2).
    const gt = box(new Uint8Array(n), 2, [12, 20], [12, 20], [12, 20]);
    const pred = box(gt.slice(), 2, [1, 6], [1, 6], [1, 6]);
    const input = { task: 'ssa' as const, gt: { data: gt, shape }, pred: { data: pred, shape } };
    const official = evaluateCase(input);
    const wt = official.regions.WT!;
    expect(wt).toMatchObject({
      Num_TP: 1,
      Num_FP: 1,
      Num_FN: 0,
      LesionWise_Score_Dice: 0.5,
      LesionWise_Score_HD95: 187,
    });
    expect(official.lesions[0]).toMatchObject({
      region: 'WT',
      gt_lesion_number: 1,
      matched_pred_components: [2],
      dice_lesionwise: 1,
    });
    // Only voxels numbered 1 in both maps are true positives: the tumour is 2 in the prediction.
    expect(wt.Sensitivity).toBe(0);
    const corrected = evaluateCase({ ...input, corrected: true }).regions.WT!;
    expect(corrected.Sensitivity).toBeCloseTo(1, 12);
    expect(corrected.Specificity).toBeCloseTo((n - 512 - 125) / (n - 512), 12);
    // The numbered interior of lesion 2 counts as surface in the official legacy HD95 only (its
    // many short distances pull the prediction-to-GT percentile down).
    expect(wt.Legacy_HD95).toBeLessThan(corrected.Legacy_HD95 - 0.1);
    expect(wt.Legacy_Dice).toBeCloseTo((2 * 512) / (512 + 637), 12);
  });

  it('a prediction group matched only to a sub-threshold GT lesion is neither TP nor FP', () => {
    const gt = box(new Uint8Array(n), 2, [2, 5], [2, 5], [2, 5]); // 27 mm³ <= 50: not counted
    const pred = box(new Uint8Array(n), 2, [2, 6], [2, 6], [2, 6]); // 64 voxels: survives the filter
    const r = evaluateCase({ task: 'ssa', gt: { data: gt, shape }, pred: { data: pred, shape } });
    expect(r.regions.WT).toMatchObject({
      Num_TP: 0,
      Num_FP: 0,
      Num_FN: 0,
      LesionWise_Score_Dice: 1,
      LesionWise_Score_HD95: 0,
    });
    expect(r.lesions).toHaveLength(1);
    expect(r.lesions[0]).toMatchObject({ counted_in_score: false, matched_pred_components: [1] });
  });
});
