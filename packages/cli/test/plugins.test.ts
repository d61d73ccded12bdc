import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverTasks } from '../src/lib/tasks.js';
import { mednext, tempDir } from './cli-helpers.js';

/** Writes a third-party task plugin, as a user would create it from plugins/README.md. */
async function writePlugin(dir: string, taskId: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: `mednext-plugin-${taskId}`,
      version: '1.0.0',
      type: 'module',
      oclif: {},
      mednext: { tasks: './tasks.js' },
    }),
  );
  const task = {
    id: taskId,
    description: 'Liver tumours (test plugin)',
    labels: [
      { value: 1, name: 'LIV', description: 'liver' },
      { value: 2, name: 'TUM', description: 'tumour' },
    ],
    regions: [
      { name: 'LIVER', labels: [1, 2], threshold: 0.5, minSize: 1000 },
      { name: 'TUMOUR', labels: [2], threshold: 0.6, minSize: 20 },
    ],
    modalities: ['ct'],
    regionsToLabels: [
      { region: 'LIVER', label: 1 },
      { region: 'TUMOUR', label: 2 },
    ],
    training: {
      preset: 'S',
      kernelSize: 3,
      patchSize: [64, 64, 64],
      batchSize: 2,
      epochs: 10,
      iterationsPerEpoch: 50,
      learningRate: 0.001,
      weightDecay: 0,
      loss: 'dice-bce',
      folds: 5,
    },
  };
  await writeFile(path.join(dir, 'tasks.js'), `export const tasks = [${JSON.stringify(task)}];\n`);
}

const tmp = tempDir('mednext-plugin-test-');

describe('discoverTasks', () => {
  it('loads the tasks a plugin folder declares', async () => {
    const dir = path.join(tmp, 'direct');
    await writePlugin(dir, 'liver');
    const { registry, problems } = await discoverTasks([
      { name: 'mednext-plugin-liver', root: dir, type: 'user', pjson: { mednext: { tasks: './tasks.js' } } },
      { name: 'no-tasks', root: dir, type: 'core', pjson: {} },
    ]);
    expect(problems).toEqual([]);
    expect(registry.list().map((t) => [t.task.id, t.source])).toEqual([['liver', 'mednext-plugin-liver']]);
    expect(registry.get('liver').regions.map((r) => r.minSize)).toEqual([1000, 20]);
  });

  it('reports a broken plugin instead of failing', async () => {
    const dir = path.join(tmp, 'broken');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'tasks.js'), 'export const tasks = [{ id: "Bad" }];\n');
    const { registry, problems } = await discoverTasks([
      { name: 'broken-plugin', root: dir, type: 'user', pjson: { mednext: { tasks: './tasks.js' } } },
    ]);
    expect(registry.list()).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ plugin: 'broken-plugin' });
    expect(problems[0]!.problem).toMatch(/^task 'Bad'/);
  });
});

describe('mednext CLI with plugins', () => {
  // oclif keeps linked plugins under XDG_DATA_HOME; a temporary one keeps the user's setup untouched.
  const env = () => ({
    XDG_DATA_HOME: path.join(tmp, 'data'),
    XDG_CONFIG_HOME: path.join(tmp, 'config'),
    XDG_CACHE_HOME: path.join(tmp, 'cache'),
  });

  it('lists the bundled ssa and ped tasks', async () => {
    const { stdout } = await mednext(['tasks', '--json'], env());
    const tasks = JSON.parse(stdout) as { id: string; source: string }[];
    expect(tasks.map((t) => [t.id, t.source])).toEqual([
      ['ped', '@mednext-ts/plugin-ped'],
      ['ped-paper', '@mednext-ts/plugin-ped'],
      ['ped4', '@mednext-ts/plugin-ped'],
      ['ssa', '@mednext-ts/plugin-ssa'],
      ['ssa-paper', '@mednext-ts/plugin-ssa'],
    ]);
  });

  it('sees a task from a plugin linked from a temporary folder', async () => {
    const dir = path.join(tmp, 'linked');
    await writePlugin(dir, 'liver');
    await mednext(['plugins', 'link', dir, '--no-install'], env());
    const { stdout } = await mednext(['tasks', '--json'], env());
    const tasks = JSON.parse(stdout) as { id: string; source: string }[];
    expect(tasks.find((t) => t.id === 'liver')).toMatchObject({ source: 'mednext-plugin-liver' });
    await mednext(['plugins', 'unlink', 'mednext-plugin-liver'], env());
    const after = JSON.parse((await mednext(['tasks', '--json'], env())).stdout) as {
      id: string;
    }[];
    expect(after.map((t) => t.id)).not.toContain('liver');
  }, 60_000);
});

/** oclif wraps warnings over several ` ›  `-prefixed lines; this joins them again. */
const unwrap = (text: string | null) => (text ?? '').replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ');

describe('a plugin reusing a bundled task id', () => {
  const env = (extra: Record<string, string> = {}) => ({
    XDG_DATA_HOME: path.join(tmp, 'dup-data'),
    XDG_CONFIG_HOME: path.join(tmp, 'dup-config'),
    XDG_CACHE_HOME: path.join(tmp, 'dup-cache'),
    ...extra,
  });

  it('is an error naming both packages, unless the user lets it override', async () => {
    const dir = path.join(tmp, 'dup-ssa');
    await writePlugin(dir, 'ssa');
    await mednext(['plugins', 'link', dir, '--no-install'], env());
    const listed = await mednext(['tasks', '--json'], env());
    const tasks = JSON.parse(listed.stdout) as { id: string; source: string }[];
    expect(tasks.find((t) => t.id === 'ssa')?.source).toBe('@mednext-ts/plugin-ssa');
    expect(unwrap(listed.stderr)).toMatch(
      /task 'ssa' from mednext-plugin-ssa is already registered by @mednext-ts\/plugin-ssa/,
    );
    // Using the task is an error, not a silent choice of one definition.
    const used = await mednext(
      ['demo', 'phantoms', '--task', 'ssa', '-n', '1', '--out', path.join(tmp, 'dup-out')],
      env(),
    ).then(
      () => null,
      (error: { stderr: string }) => error.stderr,
    );
    expect(unwrap(used)).toMatch(/task 'ssa' from mednext-plugin-ssa is already registered by @mednext-ts\/plugin-ssa/);
    const overridden = await mednext(['tasks', '--json'], env({ MEDNEXT_TASK_OVERRIDE: 'ssa=mednext-plugin-ssa' }));
    const after = JSON.parse(overridden.stdout) as { id: string; source: string; description: string }[];
    expect(after.find((t) => t.id === 'ssa')).toMatchObject({ source: 'mednext-plugin-ssa' });
    await mednext(['plugins', 'unlink', 'mednext-plugin-ssa'], env());
  }, 60_000);
});

describe('mednext doctor', () => {
  it('reports the machine, backends, the auto choice and tasks as JSON', async () => {
    const { stdout, stderr } = await mednext(['doctor', '--json']);
    const report = JSON.parse(stdout);
    expect(report.node).toBe(process.version);
    expect(report.cpus.logical).toBe(os.availableParallelism());
    expect(report.wasm.simd).toBe(true);
    const byName = Object.fromEntries(
      report.backends.map((b: { backend: string; available: boolean }) => [b.backend, b.available]),
    );
    expect(byName.cpu).toBe(true);
    expect(byName.wasm).toBe(true);
    // Without @tensorflow/tfjs-node(-gpu) installed, auto falls back to WebAssembly SIMD.
    if (report.versions['@tensorflow/tfjs-node'] === null && report.versions['@tensorflow/tfjs-node-gpu'] === null) {
      expect(byName.tensorflow).toBe(false);
      expect(report.auto.backend).toBe('wasm');
    }
    expect(report.tasks.map((t: { id: string }) => t.id)).toEqual(['ped', 'ped-paper', 'ped4', 'ssa', 'ssa-paper']);
    expect(stdout + stderr).not.toMatch(/looks like you are running TensorFlow\.js in Node/);
  }, 60_000);
});
