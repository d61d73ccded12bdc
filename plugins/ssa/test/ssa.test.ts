import { describe, expect, it } from 'vitest';
import { ssaPaperTask, ssaTask, tasks } from '../src/index.js';

describe('task ssa', () => {
  it('uses the adult-glioma labels and nested regions WT, TC, ET', () => {
    expect(tasks).toEqual([ssaTask, ssaPaperTask]);
    expect(ssaTask.labels.map((l) => [l.value, l.name])).toEqual([
      [1, 'NETC'],
      [2, 'SNFH'],
      [3, 'ET'],
    ]);
    expect(ssaTask.regions.map((r) => [r.name, r.labels, r.threshold])).toEqual([
      ['WT', [1, 2, 3], 0.5],
      ['TC', [1, 3], 0.7],
      ['ET', [3], 0.7],
    ]);
  });

  it('writes regions back as labels from the outside in', () => {
    expect(ssaTask.regionsToLabels).toEqual([
      { region: 'WT', label: 2 },
      { region: 'TC', label: 1 },
      { region: 'ET', label: 3 },
    ]);
  });

  it('carries the paper recipe: lr 0.0027, no weight decay, fine-tune the last 10 decoder layers', () => {
    expect(ssaTask.training).toMatchObject({
      learningRate: 0.0027,
      weightDecay: 0,
      epochs: 150,
      patchSize: [128, 160, 112],
    });
    expect(ssaTask.training.finetune).toEqual({ trainLast: 10, reinit: true });
  });
});

describe('task ssa-paper', () => {
  it("keeps the seed code's conventions apart from ssa: channel order, region order, pipeline, 128^3 window", () => {
    expect(ssaPaperTask.modalities).toEqual(['t2f', 't1n', 't1c', 't2w']);
    expect(ssaPaperTask.regions.map((r) => [r.name, r.labels, r.threshold, r.minSize])).toEqual([
      ['TC', [1, 3], 0.7, 0],
      ['WT', [1, 2, 3], 0.5, 0],
      ['ET', [3], 0.7, 0],
    ]);
    expect(ssaPaperTask.pipeline).toBe('seed-paper');
    expect(ssaPaperTask.windowSize).toEqual([128, 128, 128]);
    expect(ssaTask.pipeline).toBeUndefined();
    expect(ssaTask.modalities).toEqual(['t1n', 't1c', 't2w', 't2f']);
  });

  it("offers the public submission script's settings as a preset", () => {
    expect(ssaPaperTask.postprocessPresets?.submission?.regions).toEqual({
      TC: { threshold: 0.5, minSize: 150, minMeanProbability: 0.1, maxComponents: 10 },
      WT: { threshold: 0.5, minSize: 500, minMeanProbability: 0.1, maxComponents: 10 },
      ET: { threshold: 0.5, minSize: 100, minMeanProbability: 0.1, maxComponents: 10 },
    });
    expect(ssaPaperTask.postprocessPresets?.['paper-ssa']?.regions.TC).toEqual({
      threshold: 0.7,
      minSize: 0,
      minMeanProbability: 0,
      maxComponents: null,
    });
  });
});
