/**
 * Reproduces every case of the official BraTS 2024 fixtures (made with the official code) for
 * both tasks: Dice/sensitivity/specificity within 1e-6, counts exactly, HD95 within 1e-4 mm,
 * volumes within 1e-9 relative, and the per-lesion tables.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateCase, type CaseMetrics, type LesionRow, type RegionName } from '../src/index.js';
import { readNiftiForTest } from './nifti-test-reader.js';

const root = new URL('./fixtures/brats-metrics/', import.meta.url);
const cases = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

interface ExpectedTask {
  regions: Record<string, Record<string, number>>;
  /** The per-lesion table of `expected.json`, whose columns LesionRow is named after. */
  lesions: LesionRow[];
}
interface Expected {
  results: { SSA: ExpectedTask; PED: ExpectedTask };
}

const TOL: Record<string, number> = {
  Num_TP: 0,
  Num_FP: 0,
  Num_FN: 0,
  Sensitivity: 1e-6,
  Specificity: 1e-6,
  Legacy_Dice: 1e-6,
  Legacy_HD95: 1e-4,
  LesionWise_Score_Dice: 1e-6,
  LesionWise_Score_HD95: 1e-4,
};

function compare(got: CaseMetrics, want: ExpectedTask): void {
  expect(Object.keys(got.regions)).toEqual(Object.keys(want.regions));
  for (const [region, fields] of Object.entries(want.regions)) {
    const g = got.regions[region as RegionName]!;
    for (const [field, value] of Object.entries(fields)) {
      const actual = g[field as keyof typeof g];
      const tol = field === 'GT_Complete_Volume' ? 1e-9 * Math.max(1, value) : TOL[field];
      expect(tol, `tolerance for ${field}`).toBeDefined();
      expect(Math.abs(actual - value), `${region} ${field}: got ${actual}, expected ${value}`).toBeLessThanOrEqual(tol);
    }
  }
  expect(got.lesions.length).toBe(want.lesions.length);
  want.lesions.forEach((w, i) => {
    const g = got.lesions[i];
    const at = `${w.region} lesion ${w.gt_lesion_number}`;
    expect([g.region, g.gt_lesion_number, g.matched_pred_components, g.counted_in_score], at).toEqual([
      w.region,
      w.gt_lesion_number,
      w.matched_pred_components,
      w.counted_in_score,
    ]);
    expect(Math.abs(g.gt_lesion_vol - w.gt_lesion_vol), at).toBeLessThanOrEqual(1e-9 * w.gt_lesion_vol);
    expect(Math.abs(g.dice_lesionwise - w.dice_lesionwise), at).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(g.hd95_lesionwise - w.hd95_lesionwise), at).toBeLessThanOrEqual(1e-4);
  });
}

describe.each(cases)('fixture %s', (name) => {
  const dir = new URL(`${name}/`, root);
  const expected = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8')) as Expected;
  const gt = readNiftiForTest(new URL('gt.nii.gz', dir).pathname);
  const pred = readNiftiForTest(new URL('pred.nii.gz', dir).pathname);

  it.each([
    ['ssa', 'SSA'],
    ['ped', 'PED'],
  ] as const)('task %s reproduces the official results', (task, key) => {
    const got = evaluateCase({ gt, pred, task, id: name, allowUnknownLabels: true });
    compare(got, expected.results[key]);
  });
});
