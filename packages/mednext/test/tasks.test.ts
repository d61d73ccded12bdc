import { describe, expect, it } from 'vitest';
import {
  TaskRegistry,
  defineTask,
  imageFileName,
  imageFilePattern,
  labelFilePattern,
  losses,
  normalizations,
  NNUNET_NAMING,
  BRATS_NAMING,
  parseTaskOverrides,
  postprocessSteps,
  registerNormalization,
  resolveNormalization,
  tasksFromModule,
  type TaskDefinition,
} from '../src/tasks/index.js';

function makeTask(overrides: Partial<TaskDefinition> = {}): TaskDefinition {
  return {
    id: 'toy',
    description: 'toy task',
    labels: [
      { value: 1, name: 'A', description: 'a' },
      { value: 2, name: 'B', description: 'b' },
    ],
    regions: [
      { name: 'AB', labels: [1, 2], threshold: 0.5, minSize: 0 },
      { name: 'A', labels: [1], threshold: 0.5, minSize: 10 },
    ],
    modalities: ['t1n'],
    regionsToLabels: [
      { region: 'AB', label: 2 },
      { region: 'A', label: 1 },
    ],
    training: {
      preset: 'S',
      kernelSize: 3,
      patchSize: [32, 32, 32],
      batchSize: 1,
      epochs: 1,
      iterationsPerEpoch: 1,
      learningRate: 0.001,
      weightDecay: 0,
      loss: 'dice-bce',
      folds: 5,
    },
    ...overrides,
  };
}

describe('defineTask', () => {
  it('accepts a consistent task unchanged', () => {
    const task = makeTask();
    expect(defineTask(task)).toBe(task);
  });

  it.each([
    [{ id: 'Bad Id' }, "task 'Bad Id': id: must be lower-case letters, digits and dashes"],
    [
      { regions: [{ name: 'X', labels: [7], threshold: 0.5, minSize: 0 }] },
      "task 'toy': regions[0].labels: region X uses unknown label 7",
    ],
    [
      { regions: [{ name: 'X', labels: [1], threshold: 1.5, minSize: 0 }] },
      "task 'toy': regions[0].threshold: must be in (0, 1), got 1.5",
    ],
    [{ regionsToLabels: [{ region: 'Q', label: 1 }] }, "task 'toy': regionsToLabels[0].region: names unknown region Q"],
    [
      { training: { ...makeTask().training, patchSize: [100, 64, 64] } },
      "task 'toy': training.patchSize: must be three positive multiples of 16 (the network downsamples 4 times), got [100,64,64]",
    ],
    [
      { training: { ...makeTask().training, loss: 'l2' } },
      'task \'toy\': training.loss: unknown loss "l2" (known: dice-bce, dice-focal)',
    ],
    [
      { training: { ...makeTask().training, kernelSize: 4 } },
      "task 'toy': training.kernelSize: must be 3, 5 or 7, got 4",
    ],
    [
      { training: { ...makeTask().training, batchSize: 0 } },
      "task 'toy': training.batchSize: must be a positive integer, got 0",
    ],
    [
      { training: { ...makeTask().training, learningRate: -1 } },
      "task 'toy': training.learningRate: must be a positive number",
    ],
    [{ modalities: ['t1n', 't1n'] }, "task 'toy': modalities[1]: modality t1n is listed twice"],
    [{ evaluation: { preset: 'brats-2019' } }, 'task \'toy\': evaluation.preset: unknown preset "brats-2019"'],
    [{ evaluation: { dilation: 1.5 } }, "task 'toy': evaluation.dilation: must be a non-negative integer, got 1.5"],
    [
      { evaluation: { minLesionSize: { value: 10, unit: 'cm3' } } },
      "task 'toy': evaluation.minLesionSize.unit: must be 'voxels' or 'mm3'",
    ],
    [
      {
        labels: [{ value: 7, name: 'A', description: '' }],
        regions: [{ name: 'A', labels: [7], threshold: 0.5, minSize: 0 }],
        regionsToLabels: [],
        evaluation: { preset: 'brats-2024-ssa' },
      },
      "task 'toy': evaluation.preset: brats-2024-ssa defines labels 1, 2, 3; the task's label 7 is not one of them",
    ],
    [
      { normalization: 'minmax' },
      "task 'toy': normalization: unknown normalisation 'minmax' (known: ct, none, percentile-clip, zscore-nonzero)",
    ],
    [
      { normalization: { ct: 'none' } },
      "task 'toy': normalization.ct: names no modality of the task (modalities: t1n)",
    ],
    [
      { normalization: { t1n: { method: 'ct', window: [200, -100] } } },
      "task 'toy': normalization.t1n: window must be [low, high] with low < high",
    ],
    [
      { normalization: { method: 'percentile-clip', lower: 50, upper: 10 } },
      "task 'toy': normalization: lower and upper must be percentiles",
    ],
    [
      { inputNaming: { image: '{modality}.nii.gz', label: '{id}.nii.gz' } },
      "task 'toy': inputNaming.image: must hold {id} exactly once",
    ],
    [
      { inputNaming: { image: '{id}.nii.gz', label: '{id}-seg.nii.gz' } },
      "task 'toy': inputNaming.image: must hold {modality} or {channel}",
    ],
    [
      { inputNaming: { image: '{id}_{chan}.nii.gz', label: '{id}.nii.gz' } },
      "task 'toy': inputNaming.image: has unknown placeholder {chan}",
    ],
    [
      {
        regions: [{ name: 'AB', labels: [1, 2], threshold: 0.5, minSize: 0, postprocess: ['keep-biggest'] }],
        regionsToLabels: [],
      },
      "task 'toy': regions[0].postprocess[0]: unknown postprocessing step 'keep-biggest' (known: fill-holes, keep-largest)",
    ],
    [
      {
        labels: [
          { value: 1, name: 'A', description: '' },
          { value: 1, name: 'B', description: '' },
        ],
      },
      "task 'toy': labels[1].value: label value 1 is listed twice",
    ],
  ])('rejects %j', (override, message) => {
    expect(() => defineTask(makeTask(override as Partial<TaskDefinition>))).toThrow(message);
  });
});

describe('TaskRegistry', () => {
  it('registers, lists sorted and gets tasks', () => {
    const registry = new TaskRegistry();
    registry.register([makeTask({ id: 'zeta' }), makeTask({ id: 'alpha' })], 'pkg-a');
    expect(registry.list().map((t) => [t.task.id, t.source])).toEqual([
      ['alpha', 'pkg-a'],
      ['zeta', 'pkg-a'],
    ]);
    expect(registry.get('zeta').id).toBe('zeta');
    expect(registry.has('alpha')).toBe(true);
  });

  it('refuses a duplicate id and names both sources', () => {
    const registry = new TaskRegistry();
    registry.register([makeTask()], 'pkg-a');
    expect(() => registry.register([makeTask()], 'pkg-b')).toThrow(
      "task 'toy' from pkg-b is already registered by pkg-a",
    );
  });

  it('lets a source replace a taken id only when asked to', () => {
    const registry = new TaskRegistry();
    registry.register([makeTask()], 'pkg-a');
    registry.register([makeTask({ description: 'replacement' })], 'pkg-b', { override: ['toy'] });
    expect(registry.get('toy').description).toBe('replacement');
    expect(registry.sourceOf('toy')).toBe('pkg-b');
    expect(parseTaskOverrides('ssa=my-plugin, ped=my-plugin,toy=other')).toEqual({
      'my-plugin': ['ssa', 'ped'],
      other: ['toy'],
    });
    expect(() => parseTaskOverrides('ssa')).toThrow(/expected taskId=package pairs/);
  });

  it('registers nothing of a batch with an invalid task', () => {
    const registry = new TaskRegistry();
    expect(() => registry.register([makeTask({ id: 'good' }), makeTask({ id: 'bad', modalities: [] })], 'pkg')).toThrow(
      "task 'bad': modalities: must list at least one modality",
    );
    expect(registry.list()).toEqual([]);
  });

  it('lists known ids for an unknown task', () => {
    const registry = new TaskRegistry();
    registry.register([makeTask()], 'pkg-a');
    expect(() => registry.get('ssa')).toThrow("unknown task 'ssa' (registered tasks: toy)");
  });

  it('reads the tasks export of a plugin module', () => {
    const task = makeTask();
    expect(tasksFromModule({ tasks: [task] }, 'p')).toEqual([task]);
    expect(() => tasksFromModule({ default: [] }, 'my-plugin')).toThrow(
      "my-plugin does not export an array named 'tasks'",
    );
  });
});

describe('task strategies by name', () => {
  it('resolves per-modality normalisation, zscore-nonzero by default', () => {
    const two = makeTask({ modalities: ['ct', 'pet'] });
    expect(resolveNormalization(two)).toEqual([{ method: 'zscore-nonzero' }, { method: 'zscore-nonzero' }]);
    expect(resolveNormalization({ ...two, normalization: { ct: { method: 'ct', window: [-100, 200] } } })).toEqual([
      { method: 'ct', window: [-100, 200] },
      { method: 'zscore-nonzero' },
    ]);
    expect(resolveNormalization({ ...two, normalization: 'none' })).toEqual([{ method: 'none' }, { method: 'none' }]);
  });

  it('lets a plugin add a normalisation that tasks may then name, and refuses a taken name', () => {
    expect(() => defineTask(makeTask({ normalization: 'divide-by-ten' }))).toThrow(
      /unknown normalisation 'divide-by-ten'/,
    );
    registerNormalization({
      name: 'divide-by-ten',
      description: 'test',
      source: 'test-plugin',
      apply(data) {
        for (let i = 0; i < data.length; i++) data[i] = data[i]! / 10;
        return { mean: 0, std: 10, count: data.length };
      },
    });
    expect(defineTask(makeTask({ normalization: 'divide-by-ten' })).normalization).toBe('divide-by-ten');
    expect(() =>
      registerNormalization({
        name: 'zscore-nonzero',
        description: 'x',
        source: 'test-plugin',
        apply: () => ({ mean: 0, std: 1, count: 0 }),
      }),
    ).toThrow("normalisation 'zscore-nonzero' from test-plugin is already registered by @mednext-ts/mednext");
    expect(() => registerNormalization({ name: 'no-apply', description: 'x' })).toThrow(/must implement apply/);
    expect(normalizations.names()).toContain('divide-by-ten');
  });

  it('knows the built-in losses and postprocessing steps', () => {
    expect(losses.names()).toEqual(['dice-bce', 'dice-focal']);
    expect(postprocessSteps.names()).toEqual(['fill-holes', 'keep-largest']);
  });
});

describe('input naming', () => {
  it('builds and matches BraTS and nnU-Net file names', () => {
    expect(imageFileName(BRATS_NAMING, 'BraTS-SSA-00002-000', 't1c', 1)).toBe('BraTS-SSA-00002-000-t1c.nii.gz');
    expect(imageFileName(NNUNET_NAMING, 'liver_001', 'ct', 0)).toBe('liver_001_0000.nii.gz');
    expect(imageFileName(NNUNET_NAMING, 'liver_001', 'pet', 12)).toBe('liver_001_0012.nii.gz');
    expect(imageFilePattern(BRATS_NAMING, 't1c', 1).exec('BraTS-SSA-00002-000-T1C.nii')?.[1]).toBe(
      'BraTS-SSA-00002-000',
    );
    expect(imageFilePattern(NNUNET_NAMING, 'ct', 0).exec('liver_001_0000.nii.gz')?.[1]).toBe('liver_001');
    expect(imageFilePattern(NNUNET_NAMING, 'ct', 0).test('liver_001_0001.nii.gz')).toBe(false);
    expect(labelFilePattern(NNUNET_NAMING, 'liver_001').test('liver_001.nii.gz')).toBe(true);
    expect(labelFilePattern(NNUNET_NAMING, 'liver_001').test('liver_001_0000.nii.gz')).toBe(false);
    // Characters special in expressions or replacements are taken literally.
    expect(
      labelFilePattern({ image: '{id}.{modality}.nii', label: '{id}.seg.nii' }, 'a$&b').test('a$&b.seg.nii.gz'),
    ).toBe(true);
  });
});
