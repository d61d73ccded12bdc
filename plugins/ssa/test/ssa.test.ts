import { describe, expect, it } from 'vitest';
import { ssaTask, tasks } from '../src/index.js';

describe('task ssa', () => {
  it('uses the adult-glioma labels and nested regions WT, TC, ET', () => {
    expect(tasks).toEqual([ssaTask]);
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
