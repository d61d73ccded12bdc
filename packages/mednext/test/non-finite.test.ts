import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zscoreNonZero } from '@mednext-ts/tensor3d';
import {
  NonFiniteInputError,
  checkFiniteInput,
  countNonFinite,
  parseSafetensors,
  parseWeights,
  preprocessCaseArrays,
} from '../src/index.js';
import { parseRoot, preprocessDataset, readCachedCase } from '../src/data/node/index.js';
import { ssaTask } from './helpers/ssa-task.js';
import { TEST_AFFINE, makeSyntheticCase, writeSyntheticCase } from './helpers/synthetic-brats.js';

const shape: [number, number, number] = [10, 9, 8];
const n = shape[0] * shape[1] * shape[2];
const synthetic = () =>
  makeSyntheticCase({
    shape,
    brain: { start: [1, 1, 1], end: [9, 8, 7] },
    tumour: { center: [5, 4, 4], radius: 2 },
    seed: 5,
  });

/** A case with 2 NaN voxels in t1c (channel 1) and one -Infinity in t2f (channel 3). */
function poisoned() {
  const c = synthetic();
  c.image[n + 3] = Number.NaN;
  c.image[n + 500] = Number.NaN;
  c.image[3 * n + 7] = -Infinity;
  return c;
}

describe('non-finite input voxels', () => {
  it('are counted per modality, with the file when known', () => {
    const c = poisoned();
    const counts = countNonFinite({ data: c.image, shape: [4, ...shape] }, ['t1n', 't1c', 't2w', 't2f'], {
      t1c: '/data/x-t1c.nii.gz',
    });
    expect(counts).toEqual([
      { modality: 't1c', file: '/data/x-t1c.nii.gz', count: 2 },
      { modality: 't2f', count: 1 },
    ]);
  });

  it('fail the case by default, naming file, modality and count; repair sets exactly them to 0', () => {
    const c = poisoned();
    const input = {
      id: 'X',
      modalities: ['t1n', 't1c', 't2w', 't2f'],
      image: { data: c.image, shape: [4, ...shape] as [number, number, number, number] },
      files: { t1c: 'x-t1c.nii.gz', t2f: 'x-t2f.nii.gz' },
    };
    let error: unknown;
    try {
      checkFiniteInput(input, { repairHint: 'pass --repair-non-finite' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NonFiniteInputError);
    expect((error as Error).message).toBe(
      'x-t1c.nii.gz: 2 non-finite voxel(s) (NaN or infinite) in modality t1c; ' +
        'x-t2f.nii.gz: 1 non-finite voxel(s) (NaN or infinite) in modality t2f; ' +
        'fix the input, or pass --repair-non-finite to set them to 0 before normalisation',
    );
    const before = Float32Array.from(c.image);
    const repaired = checkFiniteInput(input, { policy: 'zero' });
    expect(repaired.map((r) => [r.modality, r.count])).toEqual([
      ['t1c', 2],
      ['t2f', 1],
    ]);
    let changed = 0;
    for (let i = 0; i < c.image.length; i++) if (!Object.is(c.image[i], before[i])) changed++;
    expect(changed).toBe(3);
    expect(c.image[n + 3]).toBe(0);
    expect(c.image[3 * n + 7]).toBe(0);
    expect(checkFiniteInput(input)).toEqual([]);
  });

  it('preprocessCaseArrays refuses them instead of writing NaN, and the z-score refuses them too', () => {
    const c = poisoned();
    const raw = {
      id: 'X',
      source: 's',
      modalities: ['t1n', 't1c', 't2w', 't2f'],
      image: { data: c.image, shape: [4, ...shape] as [number, number, number, number] },
      affine: TEST_AFFINE,
      spacing: [1, 1, 1] as [number, number, number],
      files: {},
    };
    expect(() => preprocessCaseArrays(raw, ssaTask)).toThrow(
      /^case X: 2 non-finite voxel\(s\) \(NaN or infinite\) in modality t1c; 1 non-finite/,
    );
    const volume = { data: Float32Array.of(1, Number.NaN, 3, Infinity), shape: [1, 2, 2] as [number, number, number] };
    expect(() => zscoreNonZero(volume)).toThrow(/2 voxel\(s\) are NaN or infinite/);
  });
});

describe('preprocessDataset with non-finite input', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mednext-nonfinite-'));
    await writeSyntheticCase(path.join(tmp, 'root'), 'BAD', poisoned());
    await writeSyntheticCase(path.join(tmp, 'root'), 'GOOD', synthetic());
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('fails the poisoned case by default and caches nothing for it; with nonFinite zero it reports and caches finite data', async () => {
    const roots = [parseRoot(path.join(tmp, 'root'))];
    const strict = await preprocessDataset({ roots, outDir: path.join(tmp, 'strict'), task: ssaTask, workers: 0 });
    expect(strict.processed).toEqual(['GOOD']);
    expect(strict.failed).toHaveLength(1);
    expect(strict.failed[0]!.error).toMatch(
      /^\S*BAD-t1c\.nii\.gz: 2 non-finite voxel\(s\) \(NaN or infinite\) in modality t1c; .*BAD-t2f\.nii\.gz: 1 .*--repair-non-finite/,
    );
    expect((await readdir(path.join(tmp, 'strict'))).filter((f) => f.startsWith('BAD'))).toEqual([]);

    const events: { id: string; repaired?: { modality: string; count: number }[] }[] = [];
    const repaired = await preprocessDataset({
      roots,
      outDir: path.join(tmp, 'repaired'),
      task: ssaTask,
      workers: 1,
      nonFinite: 'zero',
      onProgress: (e) => events.push(e),
    });
    expect(repaired.failed).toEqual([]);
    expect(repaired.repaired.map((r) => [r.id, r.counts.map((c) => [c.modality, c.count])])).toEqual([
      [
        'BAD',
        [
          ['t1c', 2],
          ['t2f', 1],
        ],
      ],
    ]);
    expect(events.find((e) => e.id === 'BAD')!.repaired!.map((r) => r.count)).toEqual([2, 1]);
    const cached = await readCachedCase(path.join(tmp, 'repaired'), 'BAD');
    expect(cached.image.data.every(Number.isFinite)).toBe(true);
    const meta = JSON.parse(await readFile(path.join(tmp, 'repaired', 'BAD.json'), 'utf8'));
    for (const s of meta.normalization.stats) expect(Number.isFinite(s.mean) && Number.isFinite(s.std)).toBe(true);
  });
});

describe('weight files that are not safetensors', () => {
  it('a pre-1.6 (non-zip) PyTorch checkpoint is named as such, not read as an absurd header length', () => {
    // What torch.save(obj, f, _use_new_zipfile_serialization=False) writes first: pickle protocol 2 and the
    // legacy magic number 0x1950a86a20f9469cfc6c as a LONG1.
    const legacy = Uint8Array.from([
      0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e, 0x80, 0x02, 0x4d, 0xe9,
      0x03, 0x2e,
    ]);
    for (const parse of [() => parseSafetensors(legacy, 'old.pth'), () => parseWeights(legacy, 'old.pth')]) {
      expect(parse).toThrow(/^old\.pth: this is a legacy \(pre-1\.6, non-zip\) PyTorch checkpoint.*torch >= 1\.6/);
    }
    const pickle = Uint8Array.from([0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0x2e]);
    expect(() => parseSafetensors(pickle, 'p.pkl')).toThrow(/p\.pkl: this is a Python pickle/);
    const gz = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);
    expect(() => parseSafetensors(gz, 'w.gz')).toThrow(/w\.gz: this file is gzip-compressed/);
    // Unknown garbage keeps the safetensors message.
    expect(() => parseSafetensors(new Uint8Array(64).fill(0x41), 'junk')).toThrow(/junk: header length/);
  });
});
