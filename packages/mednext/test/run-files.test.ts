import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FOLD_FILES, RunFiles, SPLITS_FILE } from '../src/node.js';
import type { EpochLogEntry } from '../src/index.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mednext-run-files-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const entry = (epoch: number): EpochLogEntry => ({
  epoch,
  trainLoss: 1 - epoch / 10,
  valLoss: null,
  valDice: { WT: 0.5 },
  valDiceMean: 0.5,
  learningRate: 0.01,
  seconds: 1,
  iterations: 2,
  best: epoch === 0,
  time: '2026-01-01T00:00:00.000Z',
});

describe('RunFiles', () => {
  it('names every file of a run folder', () => {
    const run = new RunFiles(path.join('runs', 'a'));
    expect(run.splits).toBe(path.join('runs', 'a', 'splits.json'));
    expect(run.fold(2)).toEqual({
      dir: path.join('runs', 'a', 'fold_2'),
      last: path.join('runs', 'a', 'fold_2', 'checkpoint_last.safetensors'),
      best: path.join('runs', 'a', 'fold_2', 'checkpoint_best.safetensors'),
      resume: path.join('runs', 'a', 'fold_2', 'checkpoint_last.resume.safetensors'),
      log: path.join('runs', 'a', 'fold_2', 'log.jsonl'),
      plot: path.join('runs', 'a', 'fold_2', 'progress.svg'),
      config: path.join('runs', 'a', 'fold_2', 'train-config.json'),
    });
    expect(SPLITS_FILE).toBe('splits.json');
    expect(RunFiles.checkpointName('best')).toBe(FOLD_FILES.best);
    expect(RunFiles.foldOfDirName('fold_12')).toBe(12);
    expect(RunFiles.foldOfDirName('fold_x')).toBeNull();
    expect(RunFiles.foldOfDirName('fold_1.bak')).toBeNull();
  });

  it('writes atomically, lists folds and checkpoints, and clears a fold', async () => {
    const run = new RunFiles(path.join(tmp, 'run'));
    expect(await run.existingFolds()).toEqual([]);
    await run.createFold(1);
    await run.createFold(0);
    await run.writeSplits({ seed: 1, sources: {}, folds: [] });
    await run.writeCheckpoint(1, 'last', new Uint8Array([1, 2, 3]));
    await run.writeResume(1, new Uint8Array([4]));
    await run.writeLog(1, [entry(0), entry(1)]);
    await run.writePlot(1, '<svg/>');
    await run.writeTrainConfig(1, { seed: 1 });
    expect(await run.existingFolds()).toEqual([0, 1]);
    expect(run.checkpointsIn(1)).toEqual([FOLD_FILES.last, FOLD_FILES.resume]);
    expect(run.checkpointsIn(0)).toEqual([]);
    expect(run.canResume(1)).toBe(true);
    expect([...(await readFile(run.fold(1).last))]).toEqual([1, 2, 3]);
    expect((await readdir(run.fold(1).dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await run.readLog(1, 0)).map((e) => e.epoch)).toEqual([0]);
    expect((await run.readLog(1, 5)).map((e) => e.epoch)).toEqual([0, 1]);
    // The whole log is replaced, never appended to: a rewrite after resume drops the unfinished epoch.
    await run.writeLog(1, [entry(0)]);
    expect((await readFile(run.fold(1).log, 'utf8')).trim().split('\n')).toHaveLength(1);
    await run.clearFold(1);
    expect(await readdir(run.fold(1).dir)).toEqual([]);
    expect(existsSync(run.splits)).toBe(true);
    await run.removeSplits();
    expect(existsSync(run.splits)).toBe(false);
  });

  it("removes a dead writer's temporary files in the run and fold folders, and nothing else", async () => {
    const run = new RunFiles(path.join(tmp, 'debris'));
    const fold = await run.createFold(0);
    // A pid above the kernel's maximum cannot be running; the files predate this process.
    const stale = [
      path.join(run.dir, '.splits.json.99999999.0123abcd.tmp'),
      path.join(fold.dir, '.checkpoint_last.safetensors.99999999.89abcdef.tmp'),
    ];
    const kept = path.join(fold.dir, FOLD_FILES.last);
    for (const file of [...stale, kept]) await writeFile(file, 'x');
    const past = new Date(Date.now() - 3600_000);
    for (const file of stale) await utimes(file, past, past);
    expect((await run.removeDebris()).sort()).toEqual(stale.map((f) => path.basename(f)).sort());
    expect(stale.map((f) => existsSync(f))).toEqual([false, false]);
    expect(existsSync(kept)).toBe(true);
  });

  it('a missing --splits file, an unreadable split and a missing resume file are coded errors naming the file', async () => {
    const run = new RunFiles(path.join(tmp, 'errors'));
    expect(await run.readSplits()).toBeNull(); // no split yet: the trainer makes one
    const missing = path.join(tmp, 'nowhere.json');
    await expect(run.readSplits(missing)).rejects.toMatchObject({
      code: 'SPLITS_INVALID',
      message: `--splits ${missing}: file not found`,
    });
    await mkdir(run.dir, { recursive: true });
    await writeFile(run.splits, '{ not json');
    await expect(run.readSplits()).rejects.toMatchObject({ code: 'SPLITS_INVALID', file: run.splits });
    await expect(run.readResume(3)).rejects.toMatchObject({
      code: 'RESUME_MISSING',
      message: `--resume: ${run.fold(3).resume} does not exist (nothing to resume in ${run.fold(3).dir})`,
    });
  });
});
