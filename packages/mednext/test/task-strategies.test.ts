/**
 * The named strategies a task picks: normalisations and postprocessing steps (built-in
 * implementations and plugin-registered ones).
 */
import { describe, expect, it } from 'vitest';
import { zscoreNonZero, type Shape3 } from '@mednext-ts/tensor3d';
import {
  fillHoles,
  keepLargestComponent,
  normalizationFromRecord,
  normalizeChannel,
  postprocessRegions,
  preprocessCaseArrays,
  registerNormalization,
  registerPostprocessStep,
  resolvePostprocess,
  type TaskDefinition,
} from '../src/index.js';
import { TINY_RECIPE } from './helpers/tiny-recipe.js';

const task: TaskDefinition = {
  id: 'organ',
  description: 'one organ on CT',
  labels: [{ value: 1, name: 'ORG', description: 'organ' }],
  regions: [{ name: 'ORG', labels: [1], threshold: 0.5, minSize: 0, postprocess: ['keep-largest', 'fill-holes'] }],
  modalities: ['ct'],
  regionsToLabels: [{ region: 'ORG', label: 1 }],
  training: TINY_RECIPE,
  normalization: { ct: { method: 'ct', window: [-100, 300] } },
};

describe('normalisations', () => {
  const shape: Shape3 = [2, 2, 2];

  it('zscore-nonzero is the shared tensor3d z-score', () => {
    const data = Float32Array.from([0, 1, 2, 3, 0, 5, 6, 7]);
    const expected = zscoreNonZero({ data: data.slice(), shape });
    const stats = normalizeChannel(data, shape, 'zscore-nonzero', 'test');
    expect(Array.from(data)).toEqual(Array.from(expected.volume.data));
    expect(stats).toEqual({ mean: expected.mean, std: expected.std, count: 6 });
  });

  it('ct clips to the window, then z-scores with the given or the measured statistics', () => {
    const data = Float32Array.from([-1000, -100, 0, 100, 200, 300, 400, 2000]);
    const stats = normalizeChannel(data, shape, { method: 'ct', window: [-100, 300], mean: 100, std: 200 }, 'test');
    expect(stats).toEqual({ mean: 100, std: 200, count: 8 });
    expect(Array.from(data)).toEqual([-1, -1, -0.5, 0, 0.5, 1, 1, 1]);
    const measured = Float32Array.from([-1000, -1000, 1000, 1000, -1000, -1000, 1000, 1000]);
    const s2 = normalizeChannel(measured, shape, { method: 'ct', window: [-100, 100] }, 'test');
    expect(s2).toEqual({ mean: 0, std: 100, count: 8 });
    expect(Array.from(measured)).toEqual([-1, -1, 1, 1, -1, -1, 1, 1]);
  });

  it('percentile-clip clips the non-zero voxels to their percentiles before the z-score', () => {
    // Non-zero values 1..7: 0th/50th percentiles are 1 and 4.
    const data = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    normalizeChannel(data, shape, { method: 'percentile-clip', lower: 0, upper: 50 }, 'test');
    const clipped = Float32Array.from([0, 1, 2, 3, 4, 4, 4, 4]);
    expect(Array.from(data)).toEqual(Array.from(zscoreNonZero({ data: clipped, shape }).volume.data));
  });

  it('none leaves values alone; a plugin method is used through the registry; bad specs name the place', () => {
    const data = Float32Array.from([5, 6, 7, 8, 9, 10, 11, 12]);
    normalizeChannel(data, shape, 'none', 'test');
    expect(data[7]).toBe(12);
    registerNormalization({
      name: 'halve',
      description: 'test',
      source: 'test-plugin',
      apply(d) {
        for (let i = 0; i < d.length; i++) d[i] = d[i]! / 2;
        return { mean: 0, std: 2, count: d.length };
      },
    });
    normalizeChannel(data, shape, 'halve', 'test');
    expect(data[7]).toBe(6);
    expect(() => normalizeChannel(data, shape, 'l2', 'case x modality ct')).toThrow(
      /^case x modality ct: unknown normalisation 'l2'/,
    );
    expect(() => normalizeChannel(data, shape, { method: 'ct', window: [1, 0] }, 'case x')).toThrow(
      "case x: normalisation 'ct': window must be [low, high] with low < high, got [1,0]",
    );
  });

  it('is recorded per modality by preprocessing, and read back from checkpoints old and new', () => {
    const image = Float32Array.from({ length: 4 * 4 * 4 }, (_, i) => (i % 3 === 0 ? 500 : -50));
    const out = preprocessCaseArrays(
      {
        id: 'c1',
        source: 's',
        modalities: ['ct'],
        image: { data: image, shape: [1, 4, 4, 4] },
        affine: [
          [1, 0, 0, 0],
          [0, 1, 0, 0],
          [0, 0, 1, 0],
          [0, 0, 0, 1],
        ],
        spacing: [1, 1, 1],
        files: {},
      },
      task,
    );
    expect(out.meta.normalization.method).toBe('per-modality');
    expect(out.meta.normalization.stats[0]!.method).toEqual({ method: 'ct', window: [-100, 300] });
    // Clipped to 300 / -50: two values only, so the z-scores are +-sqrt(ratio) pairs.
    expect(new Set(Array.from(out.image.data).map((v) => v.toFixed(4))).size).toBe(2);
    expect(normalizationFromRecord('zscore-nonzero', ['a', 'b'], 'f')).toEqual([
      { method: 'zscore-nonzero' },
      { method: 'zscore-nonzero' },
    ]);
    expect(normalizationFromRecord([{ method: 'ct', window: [0, 1] }], ['ct'], 'f')).toEqual([
      { method: 'ct', window: [0, 1] },
    ]);
    expect(() => normalizationFromRecord(['none'], ['a', 'b'], 'model.safetensors')).toThrow(
      /^model.safetensors: the recorded normalisation must list one method per modality/,
    );
  });
});

describe('postprocessing steps', () => {
  const shape: Shape3 = [5, 5, 5];
  const at = (x: number, y: number, z: number) => (x * 5 + y) * 5 + z;

  it('keep-largest keeps the largest 26-connected component', () => {
    const mask = new Uint8Array(125);
    mask[at(0, 0, 0)] = 1;
    mask[at(1, 1, 1)] = 1; // diagonal neighbour: same component
    mask[at(4, 4, 4)] = 1;
    mask[at(4, 4, 3)] = 1;
    mask[at(4, 3, 3)] = 1;
    keepLargestComponent(mask, shape);
    expect([...mask.keys()].filter((i) => mask[i])).toEqual([at(4, 3, 3), at(4, 4, 3), at(4, 4, 4)]);
  });

  it('fill-holes fills enclosed cavities but not background reaching the border', () => {
    const mask = new Uint8Array(125);
    for (let x = 1; x < 4; x++) for (let y = 1; y < 4; y++) for (let z = 1; z < 4; z++) mask[at(x, y, z)] = 1;
    mask[at(2, 2, 2)] = 0; // enclosed
    const open = mask.slice();
    open[at(2, 2, 1)] = 0; // the cavity now opens towards z = 0
    fillHoles(mask, shape);
    expect(mask[at(2, 2, 2)]).toBe(1);
    fillHoles(open, shape);
    expect(open[at(2, 2, 2)]).toBe(0);
  });

  it('are applied after threshold and minimum size when the task region names them, plugins included', () => {
    const settings = resolvePostprocess(task);
    expect(settings[0]!.steps).toEqual([{ step: 'keep-largest' }, { step: 'fill-holes' }]);
    const probs = new Float32Array(125);
    for (let x = 0; x < 3; x++) for (let y = 0; y < 3; y++) for (let z = 0; z < 3; z++) probs[at(x, y, z)] = 0.9;
    probs[at(1, 1, 1)] = 0.1; // a cavity: filled
    probs[at(4, 4, 4)] = 0.9; // apart from the block: removed by keep-largest
    probs[at(4, 0, 4)] = 0.9;
    const [mask] = postprocessRegions({ data: probs, shape: [1, 5, 5, 5] }, settings);
    expect(mask![at(1, 1, 1)]).toBe(1);
    expect(mask![at(4, 4, 4)] + mask![at(4, 0, 4)]).toBe(0);
    expect(mask!.reduce((a, b) => a + b, 0)).toBe(27);
    registerPostprocessStep({
      name: 'clear',
      description: 'test',
      source: 'test-plugin',
      apply: (m) => m.fill(0),
    });
    const cleared = postprocessRegions({ data: probs, shape: [1, 5, 5, 5] }, [
      { ...settings[0]!, steps: [{ step: 'clear' }] },
    ]);
    expect(cleared[0]!.every((v) => v === 0)).toBe(true);
  });
});

describe('losses', () => {
  it('are found by name; a plugin loss becomes usable in recipes once registered', async () => {
    const { lossByName, registerLoss } = await import('../src/node.js');
    const { defineTask } = await import('../src/tasks/index.js');
    expect(typeof lossByName('dice-focal')).toBe('function');
    expect(() => lossByName('l1')).toThrow("unknown loss 'l1' (known: dice-bce, dice-focal)");
    const recipe = (loss: string) => defineTask({ ...task, training: { ...task.training, loss } });
    expect(() => recipe('l1')).toThrow(/training.loss: unknown loss "l1"/);
    const l1 = (() => 0) as unknown as Parameters<typeof registerLoss>[0]['lossFn'];
    registerLoss({ name: 'l1', description: 'test', source: 'test-plugin', lossFn: l1 });
    expect(lossByName('l1')).toBe(l1);
    expect(recipe('l1').training.loss).toBe('l1');
  });
});
