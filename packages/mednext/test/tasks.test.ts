import { describe, expect, it } from 'vitest';
import { TaskRegistry, defineTask, tasksFromModule, type TaskDefinition } from '../src/tasks/index.js';

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
    [{ id: 'Bad Id' }, "task 'Bad Id': id must be lower-case letters, digits and dashes"],
    [
      { regions: [{ name: 'X', labels: [7], threshold: 0.5, minSize: 0 }] },
      "task 'toy': region X uses unknown label 7",
    ],
    [
      { regions: [{ name: 'X', labels: [1], threshold: 1.5, minSize: 0 }] },
      "task 'toy': region X threshold must be in (0, 1)",
    ],
    [{ regionsToLabels: [{ region: 'Q', label: 1 }] }, "task 'toy': regionsToLabels names unknown region Q"],
    [
      {
        labels: [
          { value: 1, name: 'A', description: '' },
          { value: 1, name: 'B', description: '' },
        ],
      },
      "task 'toy': label value 1 is listed twice",
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
