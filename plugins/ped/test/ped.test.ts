import { describe, expect, it } from 'vitest';
import { ped4Task, pedPaperTask, pedTask, tasks } from '../src/index.js';

describe('tasks ped and ped4', () => {
  it('registers both', () => {
    expect(tasks.map((t) => t.id)).toEqual(['ped', 'ped4', 'ped-paper']);
  });

  it('uses the 2024 pediatric labels', () => {
    expect(pedTask.labels.map((l) => [l.value, l.name])).toEqual([
      [1, 'ET'],
      [2, 'NETC'],
      [3, 'CC'],
      [4, 'ED'],
    ]);
  });

  it('has the paper regions with minimum sizes 50/75/250', () => {
    expect(pedTask.regions.map((r) => [r.name, r.labels, r.minSize])).toEqual([
      ['ET', [1], 50],
      ['TC', [1, 2, 3], 75],
      ['WT', [1, 2, 3, 4], 250],
    ]);
    expect(pedTask.training.learningRate).toBe(0.0005);
  });

  it('ped4 adds the cystic component so every label can be written', () => {
    expect(ped4Task.regions.map((r) => r.name)).toEqual(['ET', 'TC', 'WT', 'CC']);
    const written = new Set(ped4Task.regionsToLabels.map((m) => m.label));
    expect([...written].sort()).toEqual([1, 2, 3, 4]);
  });
});

describe('task ped-paper', () => {
  it("defaults to the paper's PED minimum sizes with the submission script's other rules", () => {
    expect(
      pedPaperTask.regions.map((r) => [
        r.name,
        r.labels,
        r.threshold,
        r.minSize,
        r.minMeanProbability,
        r.maxComponents,
      ]),
    ).toEqual([
      ['TC', [1, 3], 0.5, 75, 0.1, 10],
      ['WT', [1, 2, 3], 0.5, 250, 0.1, 10],
      ['ET', [3], 0.5, 50, 0.1, 10],
    ]);
    expect(pedPaperTask.modalities).toEqual(['t2f', 't1n', 't1c', 't2w']);
    expect(pedPaperTask.pipeline).toBe('seed-paper');
  });

  it('paints like the seed code and offers the adult-to-PED relabelling', () => {
    expect(pedPaperTask.regionsToLabels.map((r) => [r.region, r.label])).toEqual([
      ['WT', 2],
      ['TC', 1],
      ['ET', 3],
    ]);
    expect(pedPaperTask.labelMappings).toEqual({ seed: { 1: 1, 2: 2, 3: 3 }, 'adult-to-ped': { 1: 2, 2: 4, 3: 1 } });
  });
});
