import { describe, expect, it } from 'vitest';
import { ped4Task, pedTask, tasks } from '../src/index.js';

describe('tasks ped and ped4', () => {
  it('registers both', () => {
    expect(tasks.map((t) => t.id)).toEqual(['ped', 'ped4']);
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
