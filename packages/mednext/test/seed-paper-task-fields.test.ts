import { describe, expect, it } from 'vitest';
import { defineTask, resolvePostprocess, segmentCase, type TaskDefinition } from '../src/index.js';
import { ssaTask } from './helpers/ssa-task.js';

/** An SSA-like task on the seed-paper pipeline (region order TC, WT, ET). */
const paperTask = (extra: Partial<TaskDefinition> = {}): TaskDefinition =>
  defineTask({
    ...ssaTask,
    id: 'ssa-paper-test',
    regions: [
      { name: 'TC', labels: [1, 3], threshold: 0.7, minSize: 0 },
      { name: 'WT', labels: [1, 2, 3], threshold: 0.5, minSize: 0 },
      { name: 'ET', labels: [3], threshold: 0.7, minSize: 0, minMeanProbability: 0.2, maxComponents: 3 },
    ],
    pipeline: 'seed-paper',
    ...extra,
  });

describe('task fields of pipeline variants', () => {
  it('validates the component-rule defaults and preset region names', () => {
    const bad = (region: Record<string, unknown>) => () =>
      paperTask({ regions: [{ name: 'TC', labels: [1, 3], threshold: 0.7, minSize: 0, ...region }] });
    expect(bad({ minMeanProbability: 1 })).toThrow(/regions\[0\]\.minMeanProbability: must be in \[0, 1\), got 1/);
    expect(bad({ maxComponents: 0 })).toThrow(/regions\[0\]\.maxComponents: must be a positive integer, got 0/);
    expect(() =>
      paperTask({ postprocessPresets: { x: { description: 'x', regions: { NETC: { threshold: 0.5 } } } } }),
    ).toThrow(/postprocessPresets\.x\.regions: names unknown region NETC/);
  });

  it('resolves minMeanProbability and maxComponents (null = no limit) for a pipeline task', () => {
    const settings = resolvePostprocess(paperTask(), {
      regions: { TC: { minMeanProbability: 0.1, maxComponents: 10 }, ET: { maxComponents: null } },
    });
    expect(settings).toEqual([
      { name: 'TC', threshold: 0.7, minSize: 0, minMeanProbability: 0.1, maxComponents: 10 },
      { name: 'WT', threshold: 0.5, minSize: 0, minMeanProbability: 0, maxComponents: Number.POSITIVE_INFINITY },
      { name: 'ET', threshold: 0.7, minSize: 0, minMeanProbability: 0.2, maxComponents: Number.POSITIVE_INFINITY },
    ]);
  });

  it("refuses the component-rule settings for the project's own tasks instead of ignoring them", () => {
    expect(() => resolvePostprocess(ssaTask, { regions: { ET: { minMeanProbability: 0.3 } } })).toThrow(
      /need a pipeline with a component rule; task 'ssa' has none/,
    );
    // the defaults of our own tasks are unchanged (no extra fields)
    expect(resolvePostprocess(ssaTask)[0]).toEqual({ name: 'WT', threshold: 0.5, minSize: 0 });
  });

  it('names an unknown pipeline, and refuses per-region weights on the default pipeline', async () => {
    const raw = {
      id: 'c',
      image: { data: new Float32Array(4 * 8), shape: [4, 2, 2, 2] as [number, number, number, number] },
      modalities: ['t1n', 't1c', 't2w', 't2f'],
    };
    const model = {
      name: 'm',
      predictor: () => new Float32Array(0),
      patchSize: [16, 16, 16] as [number, number, number],
      inChannels: 4,
      outChannels: 3,
    };
    await expect(segmentCase(raw, { ...paperTask(), pipeline: 'nope' }, [model], [], {})).rejects.toThrow(
      /names case pipeline 'nope', which does not exist \(known: seed-paper\)/,
    );
    await expect(
      segmentCase(raw, ssaTask, [model], resolvePostprocess(ssaTask), { channelWeights: [[1, 1, 1]] }),
    ).rejects.toThrow(/per-region ensemble weights and label mappings need a task pipeline/);
  });

  it('refuses voxels other than 1 mm on the seed-paper pipeline, as the seed code asserts', async () => {
    const raw = {
      id: 'aniso',
      image: { data: new Float32Array(4 * 8).fill(1), shape: [4, 2, 2, 2] as [number, number, number, number] },
      modalities: ['t2f', 't1n', 't1c', 't2w'],
      spacing: [1, 1, 1.2] as [number, number, number],
    };
    const model = {
      name: 'm',
      predictor: () => new Float32Array(0),
      patchSize: [16, 16, 16] as [number, number, number],
      inChannels: 4,
      outChannels: 3,
    };
    await expect(segmentCase(raw, paperTask(), [model], resolvePostprocess(paperTask()), {})).rejects.toThrow(
      /aniso: voxel spacing 1 x 1 x 1\.2 mm; the seed paper's code requires 1 mm voxels/,
    );
  });

  it('warns about intensities outside int16 and paints a constant prediction over the crop box', async () => {
    const data = new Float32Array(4 * 27);
    for (let c = 0; c < 4; c++) data[c * 27 + 13] = c === 0 ? 40000 : 5; // only the centre voxel is non-zero
    const raw = {
      id: 'big',
      image: { data, shape: [4, 3, 3, 3] as [number, number, number, number] },
      modalities: ['t2f', 't1n', 't1c', 't2w'],
    };
    const model = {
      name: 'const',
      predictor: (_: Float32Array, count: number) => new Float32Array(count * 3 * 16 ** 3).fill(0.9),
      patchSize: [16, 16, 16] as [number, number, number],
      inChannels: 4,
      outChannels: 3,
    };
    const warnings: string[] = [];
    const task = paperTask();
    const result = await segmentCase(raw, task, [model], resolvePostprocess(task), {
      onWarning: (m) => warnings.push(m),
    });
    expect(warnings).toEqual([expect.stringMatching(/big: 1 voxel\(s\) outside the int16 range were wrapped/)]);
    expect(result.cropBox).toEqual({ start: [1, 1, 1], end: [2, 2, 2] });
    expect(Array.from(result.labels).filter((v) => v !== 0)).toEqual([3]);
    expect(result.labels[13]).toBe(3);
    expect(result.probabilities.data[13]).toBeCloseTo(0.9, 6);
  });
});
