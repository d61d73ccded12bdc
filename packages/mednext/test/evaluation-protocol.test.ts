import { describe, expect, it } from 'vitest';
import { BRATS_2024_PED, BRATS_2024_SSA } from '@mednext-ts/metrics';
import { taskCaseScorer, taskEvaluationProtocol, type TaskDefinition } from '../src/index.js';
import { TINY_RECIPE } from './helpers/tiny-recipe.js';

const liver: TaskDefinition = {
  id: 'liver',
  description: 'liver',
  labels: [
    { value: 1, name: 'LIV', description: 'liver' },
    { value: 2, name: 'TUM', description: 'tumour' },
  ],
  regions: [
    { name: 'LIVER', labels: [1, 2], threshold: 0.5, minSize: 0 },
    { name: 'TUMOUR', labels: [2], threshold: 0.5, minSize: 0 },
  ],
  modalities: ['ct'],
  regionsToLabels: [
    { region: 'LIVER', label: 1 },
    { region: 'TUMOUR', label: 2 },
  ],
  training: TINY_RECIPE,
};

describe('taskEvaluationProtocol', () => {
  it('gives the BraTS presets for tasks that declare them', () => {
    expect(taskEvaluationProtocol({ ...liver, evaluation: { preset: 'brats-2024-ssa' } })).toBe(BRATS_2024_SSA);
    expect(taskEvaluationProtocol({ ...liver, evaluation: { preset: 'brats-2024-ped' } })).toBe(BRATS_2024_PED);
  });

  it("builds a protocol over the task's own regions with its matching parameters", () => {
    const plain = taskEvaluationProtocol(liver);
    expect(plain).toMatchObject({
      name: 'liver',
      labels: [0, 1, 2],
      regions: ['LIVER', 'TUMOUR'],
      regionLabels: { LIVER: [1, 2], TUMOUR: [2] },
      dilation: 0,
      minGtLesion: { value: 0, unit: 'voxels' },
      minPredLesion: { value: 0, unit: 'voxels' },
      score: 'lesion-wise',
    });
    expect(plain.hd95Penalty).toBeUndefined();
    const declared = taskEvaluationProtocol({
      ...liver,
      evaluation: {
        score: 'region-wise',
        dilation: 2,
        minLesionSize: { value: 20, unit: 'mm3' },
        minPredictionSize: { value: 3, unit: 'voxels' },
        hd95Penalty: 99,
      },
    });
    expect(declared).toMatchObject({
      dilation: 2,
      minGtLesion: { value: 20, unit: 'mm3' },
      minPredLesion: { value: 3, unit: 'voxels' },
      hd95Penalty: 99,
      score: 'region-wise',
    });
  });
});

describe('taskCaseScorer', () => {
  it("scores with the task's protocol, the default penalty from the whole case's field of view", () => {
    // A 4x4x4 crop of a 10x20x20 case: GT has one tumour voxel that the prediction misses.
    const labels = new Uint8Array(64).fill(1);
    labels[21] = 2;
    const prediction = new Uint8Array(64).fill(1);
    const scorer = taskCaseScorer(liver);
    const c = {
      id: 'c',
      probabilities: { data: new Float32Array(128), shape: [2, 4, 4, 4] as [number, number, number, number] },
      labels,
      spacing: [2, 1, 1] as [number, number, number],
    };
    const cropOnly = scorer(prediction, c, [4, 4, 4]);
    const whole = scorer(prediction, { ...c, fullShape: [10, 20, 20] }, [4, 4, 4]);
    // LIVER is perfect; TUMOUR is missed: Dice 0 and HD95 = the penalty.
    expect(whole.dice).toBe(0.5);
    expect(whole.hd95).toBeCloseTo(Math.hypot(20, 20, 20) / 2, 10);
    expect(cropOnly.hd95).toBeCloseTo(Math.hypot(8, 4, 4) / 2, 10);
  });
});
