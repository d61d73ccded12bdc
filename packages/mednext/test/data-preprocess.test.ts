import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uncropVolume } from '@mednext-ts/tensor3d';
import {
  parseRoot,
  preprocessDataset,
  readCachedCase,
  readDatasetDescription,
  type PreprocessProgress,
} from '../src/data/node/index.js';
import { ssaTask } from './helpers/ssa-task.js';
import { TEST_AFFINE, makeSyntheticCase, writeSyntheticCase } from './helpers/synthetic-brats.js';

let tmp: string;
const shape: [number, number, number] = [14, 12, 10];
const caseA = makeSyntheticCase({
  shape,
  brain: { start: [2, 1, 3], end: [12, 11, 9] },
  tumour: { center: [7, 6, 6], radius: 3 },
  seed: 1,
});
const caseB = makeSyntheticCase({
  shape,
  brain: { start: [0, 2, 0], end: [10, 12, 10] },
  tumour: { center: [4, 6, 5], radius: 2.5 },
  seed: 2,
});
const caseC = makeSyntheticCase({ shape, brain: { start: [1, 1, 1], end: [13, 11, 9] }, seed: 3 });

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mednext-pre-'));
  await writeSyntheticCase(path.join(tmp, 'gli'), 'GLI-A', caseA);
  await writeSyntheticCase(path.join(tmp, 'gli'), 'GLI-B', caseB);
  await writeSyntheticCase(path.join(tmp, 'ssa'), 'SSA-C', caseC, false);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('parseRoot', () => {
  it('splits an optional :tag', () => {
    expect(parseRoot('/data/BraTS2023:glioma')).toEqual({ path: '/data/BraTS2023', source: 'glioma' });
    expect(parseRoot('/data/SSA')).toEqual({ path: '/data/SSA', source: 'SSA' });
    expect(parseRoot('C:\\data\\x')).toEqual({
      path: 'C:\\data\\x',
      source: path.basename(path.resolve('C:\\data\\x')),
    });
  });
});

describe('preprocessDataset', () => {
  it('crops, normalises, writes the cache and skips done cases', async () => {
    const out = path.join(tmp, 'cache');
    const events: PreprocessProgress[] = [];
    const roots = [parseRoot(path.join(tmp, 'gli') + ':glioma'), parseRoot(path.join(tmp, 'ssa') + ':ssa')];
    const summary = await preprocessDataset({
      roots,
      outDir: out,
      task: ssaTask,
      workers: 0,
      onProgress: (e) => events.push(e),
    });
    expect(summary.failed).toEqual([]);
    expect(summary.processed.sort()).toEqual(['GLI-A', 'GLI-B', 'SSA-C']);
    expect(events.map((e) => e.finished)).toEqual([1, 2, 3]);

    const a = await readCachedCase(out, 'GLI-A');
    expect(a.meta.cropBox).toEqual({ start: [2, 1, 3], end: [12, 11, 9] });
    expect(a.meta.originalShape).toEqual(shape);
    expect(a.meta.source).toBe('glioma');
    expect(a.meta.affine).toEqual(TEST_AFFINE);
    expect(a.meta.labels).toEqual([1, 2, 3]);
    expect(a.image.shape).toEqual([4, 10, 10, 6]);
    // normalisation statistics: mean/std of the original brain voxels of each modality
    const n = shape[0] * shape[1] * shape[2];
    for (let c = 0; c < 4; c++) {
      const vals = [...caseA.image.subarray(c * n, (c + 1) * n)].filter((v) => v !== 0);
      const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
      const std = Math.sqrt(vals.reduce((s, v) => s + (v - mean) ** 2, 0) / vals.length);
      expect(a.meta.normalization.stats[c]!.mean).toBeCloseTo(mean, 3);
      expect(a.meta.normalization.stats[c]!.std).toBeCloseTo(std, 3);
      const m = 600;
      const ch = [...a.image.data.subarray(c * m, (c + 1) * m)];
      const cm = ch.reduce((s, v) => s + v, 0) / m;
      const cs = Math.sqrt(ch.reduce((s, v) => s + (v - cm) ** 2, 0) / m);
      expect(cm).toBeCloseTo(0, 4);
      expect(cs).toBeCloseTo(1, 4);
    }
    // geometry round trip: uncropping the cached labels gives the original label map back
    const restored = uncropVolume(a.labels!, a.meta.cropBox, a.meta.originalShape);
    expect([...restored.data]).toEqual([...caseA.labels]);

    const c = await readCachedCase(out, 'SSA-C');
    expect(c.labels).toBeUndefined();
    expect(c.meta.arrays.seg).toBeNull();
    expect(c.meta.cropBox).toEqual({ start: [1, 1, 1], end: [13, 11, 9] });

    const description = await readDatasetDescription(out);
    expect(description.cases).toEqual([
      { id: 'GLI-A', source: 'glioma' },
      { id: 'GLI-B', source: 'glioma' },
      { id: 'SSA-C', source: 'ssa' },
    ]);
    expect(description.regions).toEqual(['WT', 'TC', 'ET']);

    const before = (await stat(path.join(out, 'GLI-A.npy'))).mtimeMs;
    const again = await preprocessDataset({ roots, outDir: out, task: ssaTask, workers: 0 });
    expect(again.skipped.sort()).toEqual(['GLI-A', 'GLI-B', 'SSA-C']);
    expect((await stat(path.join(out, 'GLI-A.npy'))).mtimeMs).toBe(before);
    const redo = await preprocessDataset({ roots, outDir: out, task: ssaTask, workers: 0, overwrite: true });
    expect(redo.processed.length).toBe(3);
  });

  it('worker threads give byte-identical caches', async () => {
    const out1 = path.join(tmp, 'w0');
    const out2 = path.join(tmp, 'w2');
    const roots = [parseRoot(path.join(tmp, 'gli'))];
    await preprocessDataset({ roots, outDir: out1, task: ssaTask, workers: 0 });
    const s = await preprocessDataset({ roots, outDir: out2, task: ssaTask, workers: 2 });
    expect(s.failed).toEqual([]);
    for (const f of ['GLI-A.npy', 'GLI-B_seg.npy', 'GLI-B.json']) {
      const [x, y] = await Promise.all([readFile(path.join(out1, f)), readFile(path.join(out2, f))]);
      expect(Buffer.compare(x, y)).toBe(0);
    }
  });

  it('reports a broken case and continues', async () => {
    const out = path.join(tmp, 'bad');
    const pedLike = { ...ssaTask, id: 'other', labels: ssaTask.labels.filter((l) => l.value !== 3) };
    const s = await preprocessDataset({
      roots: [parseRoot(path.join(tmp, 'gli'))],
      outDir: out,
      task: pedLike,
      workers: 0,
    });
    expect(s.failed.map((f) => f.id)).toEqual(['GLI-A', 'GLI-B']);
    expect(s.failed[0]!.error).toMatch(/label value\(s\) 3 are not labels of task 'other'/);
  });
});
