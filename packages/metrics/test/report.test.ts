import { describe, expect, it } from 'vitest';
import { SUMMARY_METRICS, caseIdOf, formatMetric, pairCases, summarize, synapseColumns } from '../src/index.js';

describe('summarize (pandas describe semantics)', () => {
  it('uses the sample std (ddof 1) and linear quantiles', () => {
    const s = summarize([1, 2, 4, 10]);
    expect(s.mean).toBe(4.25);
    expect(s.std).toBeCloseTo(
      Math.sqrt(((1 - 4.25) ** 2 + (2 - 4.25) ** 2 + (4 - 4.25) ** 2 + (10 - 4.25) ** 2) / 3),
      14,
    );
    expect(s.median).toBe(3);
    expect(s.q25).toBe(1.75);
    expect(s.q75).toBe(5.5);
    expect(summarize([7]).std).toBeNaN();
  });
});

describe('synapseColumns', () => {
  it('names columns <metric>_<region> with regions sorted within each metric, like score.py', () => {
    const cols = synapseColumns(['WT', 'TC', 'ET']);
    expect(cols.slice(0, 6)).toEqual([
      'LesionWise_Dice_ET',
      'LesionWise_Dice_TC',
      'LesionWise_Dice_WT',
      'LesionWise_Hausdorff95_ET',
      'LesionWise_Hausdorff95_TC',
      'LesionWise_Hausdorff95_WT',
    ]);
    expect(cols).toHaveLength(27);
    expect(cols.at(-1)).toBe('Num_FN_WT');
  });
});

describe('summary metrics and their formatting', () => {
  it('lists the Synapse metrics in its order and formats counts, decimals and NaN', () => {
    expect(SUMMARY_METRICS).toEqual([
      'LesionWise_Score_Dice',
      'LesionWise_Score_HD95',
      'Legacy_Dice',
      'Legacy_HD95',
      'Sensitivity',
      'Specificity',
      'Num_TP',
      'Num_FP',
      'Num_FN',
    ]);
    expect([3, 0.5968432, 126.44281, Number.NaN].map(formatMetric)).toEqual(['3', '0.5968', '126.4428', '-']);
  });
});

describe('case pairing', () => {
  it('extracts BraTS IDs and skips modality images', () => {
    expect(caseIdOf('/d/BraTS-SSA-00002-000/BraTS-SSA-00002-000-seg.nii.gz')).toBe('BraTS-SSA-00002-000');
    expect(caseIdOf('BraTS-PED-00030-000.nii.gz')).toBe('BraTS-PED-00030-000');
    expect(caseIdOf('BraTS-SSA-00002-000-t2f.nii.gz')).toBeNull();
    expect(caseIdOf('case7_seg.nii')).toBe('case7');
    expect(caseIdOf('notes.txt')).toBeNull();
  });

  it('pairs by ID and lists unpaired and duplicate cases', () => {
    const r = pairCases(
      ['g/BraTS-SSA-00002-000-seg.nii.gz', 'g/BraTS-SSA-00001-000-seg.nii.gz', 'g/BraTS-SSA-00003-000-seg.nii.gz'],
      [
        'p/BraTS-SSA-00001-000.nii.gz',
        'p/BraTS-SSA-00002-000.nii.gz',
        'p/BraTS-SSA-00004-000.nii.gz',
        'q/BraTS-SSA-00004-000.nii',
      ],
    );
    expect(r.pairs).toEqual([
      { id: 'BraTS-SSA-00001-000', gt: 'g/BraTS-SSA-00001-000-seg.nii.gz', pred: 'p/BraTS-SSA-00001-000.nii.gz' },
      { id: 'BraTS-SSA-00002-000', gt: 'g/BraTS-SSA-00002-000-seg.nii.gz', pred: 'p/BraTS-SSA-00002-000.nii.gz' },
    ]);
    expect(r.missingPrediction).toEqual(['BraTS-SSA-00003-000']);
    expect(r.missingGt).toEqual(['BraTS-SSA-00004-000']);
    expect(r.duplicates).toEqual([
      'prediction BraTS-SSA-00004-000: p/BraTS-SSA-00004-000.nii.gz, q/BraTS-SSA-00004-000.nii',
    ]);
  });
});
