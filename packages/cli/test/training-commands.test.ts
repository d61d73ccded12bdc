import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseSafetensors, readCheckpointMetadata } from '@mednext-ts/mednext';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, mednext, mednextExit, tempDir } from './cli-helpers.js';
import { writePhantomCase } from './inference-helpers.js';

const tmp = tempDir('mednext-train-cli-');
beforeAll(async () => {
  for (const seed of [1, 2, 3]) await writePhantomCase(path.join(tmp, 'gli'), seed);
  await writePhantomCase(path.join(tmp, 'ssa'), 4);
}, 120_000);

const tinyTraining = ['--patch-size', '16x16x16', '--batch-size', '1', '--iterations', '2', '--backend', 'wasm', '-q'];
const tinyModel = ['--width', '2', '--blocks', '1'];

describe('mednext preprocess / train / finetune', () => {
  it('preprocesses two tagged roots, trains a fold, resumes, fine-tunes, and the checkpoint predicts', async () => {
    const cache = path.join(tmp, 'cache');
    const pre = await mednext([
      'preprocess',
      '--task',
      'ssa',
      '--root',
      `${path.join(tmp, 'gli')}:glioma`,
      '--root',
      `${path.join(tmp, 'ssa')}:ssa`,
      '--out',
      cache,
      '-j',
      '0',
      '-q',
    ]);
    expect(pre.stdout).toMatch(/4 case\(s\): 4 preprocessed, 0 already cached, 0 failed/);
    const dataset = JSON.parse(await readFile(path.join(cache, 'dataset.json'), 'utf8'));
    expect(dataset.cases.map((c: { source: string }) => c.source)).toEqual(['glioma', 'glioma', 'glioma', 'ssa']);
    const again = await mednext([
      'preprocess',
      '--task',
      'ssa',
      '--root',
      `${path.join(tmp, 'gli')}:glioma`,
      '--out',
      cache,
      '-q',
    ]);
    expect(again.stdout).toMatch(/3 case\(s\): 0 preprocessed, 3 already cached/);

    const runDir = path.join(tmp, 'run');
    const train = await mednext([
      'train',
      '--data',
      cache,
      '--out',
      runDir,
      '--fold',
      '0',
      '--num-folds',
      '2',
      '--epochs',
      '1',
      ...tinyModel,
      ...tinyTraining,
    ]);
    expect(train.stdout).toMatch(/fold_0: best mean Dice/);
    const fold = path.join(runDir, 'fold_0');
    expect((await readdir(fold)).sort()).toEqual([
      'checkpoint_best.safetensors',
      'checkpoint_last.resume.safetensors',
      'checkpoint_last.safetensors',
      'log.jsonl',
      'progress.svg',
      'train-config.json',
    ]);
    const splits = JSON.parse(await readFile(path.join(runDir, 'splits.json'), 'utf8'));
    expect(splits.folds).toHaveLength(2);
    // one more epoch on top of the first
    await mednext([
      'train',
      '--data',
      cache,
      '--out',
      runDir,
      '--fold',
      '0',
      '--num-folds',
      '2',
      '--epochs',
      '2',
      '--resume',
      ...tinyModel,
      ...tinyTraining,
    ]);
    const log = (await readFile(path.join(fold, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.map((e: { epoch: number }) => e.epoch)).toEqual([0, 1]);
    const { info, config } = readCheckpointMetadata(
      parseSafetensors(await readFile(path.join(fold, 'checkpoint_last.safetensors'))).metadata,
      'last',
    );
    expect(info.task).toBe('ssa');
    expect(info.epoch).toBe(1);
    expect(config.n_channels).toBe(2);

    const ft = path.join(tmp, 'ft');
    const fine = await mednext([
      'finetune',
      '--from',
      runDir,
      '--data',
      cache,
      '--out',
      ft,
      '--fold',
      '0',
      '--sources',
      'glioma',
      '--train-last',
      '3',
      '--epochs',
      '1',
      ...tinyTraining,
    ]);
    expect(fine.stdout).toMatch(/fold_0: best mean Dice/);
    const ftConfig = JSON.parse(await readFile(path.join(ft, 'fold_0', 'train-config.json'), 'utf8'));
    expect(ftConfig.init).toEqual({
      kind: 'checkpoint',
      path: path.join(fold, 'checkpoint_last.safetensors'),
      trainLast: 3,
      reinit: true,
    });
    expect(ftConfig.sources).toEqual(['glioma']);

    const preds = path.join(tmp, 'preds');
    await mednext([
      'predict',
      path.join(tmp, 'ssa'),
      '--model',
      path.join(ft, 'fold_0', 'checkpoint_last.safetensors'),
      '--out',
      preds,
      '--backend',
      'wasm',
      '-q',
    ]);
    expect(await readdir(preds)).toContain('BraTS-SSA-00004-000.nii.gz');
  }, 180_000);

  it('explains bad arguments', async () => {
    await expect(mednext(['train', '--data', path.join(tmp, 'nope'), '--out', path.join(tmp, 'x')])).rejects.toThrow(
      /cannot read[\s\S]*a folder made by\s+mednext preprocess/,
    );
  });

  it('a run killed after a checkpoint resumes to the same weights as an uninterrupted run', async () => {
    const cache = path.join(tmp, 'cache');
    const args = (out: string) => [
      'train',
      '--data',
      cache,
      '--out',
      out,
      '--fold',
      '1',
      '--num-folds',
      '2',
      '--epochs',
      '3',
      '--seed',
      '3',
      ...tinyModel,
      ...tinyTraining,
    ];
    const whole = path.join(tmp, 'whole');
    await mednext(args(whole));
    const killed = path.join(tmp, 'killed');
    const resumeFile = path.join(killed, 'fold_1', 'checkpoint_last.resume.safetensors');
    const child = spawn(process.execPath, [BIN, ...args(killed)], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    while (!existsSync(resumeFile)) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    await mednext([...args(killed), '--resume']);
    for (const f of ['checkpoint_last.safetensors', 'checkpoint_last.resume.safetensors']) {
      const [a, b] = await Promise.all([
        readFile(path.join(whole, 'fold_1', f)),
        readFile(path.join(killed, 'fold_1', f)),
      ]);
      expect(Buffer.compare(a, b), f).toBe(0);
    }
    const epochs = (await readFile(path.join(killed, 'fold_1', 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).epoch);
    expect(epochs).toEqual([0, 1, 2]);
  }, 120_000);

  it('refuses to retrain a run folder or change its fold count unless told how (--resume, --overwrite, new --out)', async () => {
    const cache = path.join(tmp, 'cache');
    const out = path.join(tmp, 'guarded');
    const args = ['train', '--data', cache, '--out', out, '--fold', '0', '--num-folds', '2', '--epochs', '1'];
    await mednext([...args, ...tinyModel, ...tinyTraining]);
    const last = path.join(out, 'fold_0', 'checkpoint_last.safetensors');
    const before = await readFile(last);

    const again = await mednextExit(...args, '--seed', '9', ...tinyModel, ...tinyTraining);
    expect(again.code).toBe(1);
    const message = again.stderr.replace(/\s*\n ›\s*/g, ' ');
    expect(message).toMatch(/fold_0 \(checkpoint_last\.safetensors.*\) already holds a training run/);
    expect(message).toMatch(/--resume to continue.*--overwrite to delete it.*a new --out/);
    expect(Buffer.compare(await readFile(last), before)).toBe(0);

    const moreFolds = await mednextExit(
      ...args.slice(0, -4),
      '--num-folds',
      '3',
      '--epochs',
      '1',
      ...tinyModel,
      ...tinyTraining,
    );
    expect(moreFolds.code).toBe(1);
    expect(moreFolds.stderr.replace(/\s*\n ›\s*/g, ' ')).toMatch(
      /--num-folds 3: .*splits\.json already splits the cases into 2 folds.*--overwrite.*new --out/,
    );
    expect(JSON.parse(await readFile(path.join(out, 'splits.json'), 'utf8')).folds).toHaveLength(2);

    // --overwrite with a new fold count: a new 3-fold split, the old fold's checkpoints replaced.
    await mednext([
      ...args.slice(0, -4),
      '--num-folds',
      '3',
      '--epochs',
      '1',
      '--seed',
      '9',
      '--overwrite',
      ...tinyModel,
      ...tinyTraining,
    ]);
    expect(JSON.parse(await readFile(path.join(out, 'splits.json'), 'utf8')).folds).toHaveLength(3);
    expect(Buffer.compare(await readFile(last), before)).not.toBe(0);
  }, 120_000);
});
