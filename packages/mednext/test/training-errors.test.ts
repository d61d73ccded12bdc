import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@mednext-ts/tensor3d';
import { NO_AUGMENTATION } from '../src/data/index.js';
import { MedNeXtError, type MedNeXtErrorCode } from '../src/index.js';
import { RunFiles, trainFold, type TrainOptions } from '../src/node.js';
import { ssaTask, tinySsaModel } from './helpers/ssa-task.js';
import { writeSyntheticCache } from './helpers/synthetic-cache.js';

let tmp: string;
let cache: string;

beforeAll(async () => {
  await selectBackend('cpu');
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mednext-train-errors-'));
  cache = path.join(tmp, 'cache');
  await writeSyntheticCache(cache, ssaTask, 3, [20, 20, 20]);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const options = (outDir: string, over: Partial<TrainOptions> = {}): TrainOptions => ({
  task: ssaTask,
  cacheDir: cache,
  outDir,
  fold: 0,
  folds: 3,
  model: tinySsaModel,
  patchSize: [16, 16, 16],
  batchSize: 1,
  epochs: 1,
  iterationsPerEpoch: 1,
  learningRate: 0.01,
  weightDecay: 0,
  optimizer: 'schedulefree',
  loss: 'dice-focal',
  augmentation: NO_AUGMENTATION,
  seed: 3,
  ...over,
});

/** The MedNeXtError trainFold rejects with (the test fails when it resolves or rejects with another error). */
async function rejection(run: Promise<unknown>): Promise<MedNeXtError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MedNeXtError);
  return error as MedNeXtError;
}

describe('trainFold fails with coded errors naming the problem', () => {
  it.each([
    [
      'a patch that is not a multiple of 16',
      { patchSize: [16, 24, 16] },
      'TRAINING_SETTING',
      'patch size 16x24x16: every side must be a multiple of 16 (4 down-sampling levels)',
    ],
    [
      'a network with the wrong number of outputs',
      { model: { ...tinySsaModel, n_classes: 2 } },
      'TRAINING_SETTING',
      "model n_classes 2 != 3 regions of task 'ssa'",
    ],
    ['an unknown loss', { loss: 'l7' }, 'TRAINING_SETTING', "unknown loss 'l7' (known: dice-bce, dice-focal)"],
    [
      'a fold the split does not have',
      { fold: 5 },
      'SPLITS_INVALID',
      'fold 5 does not exist (splits has 3 folds: 0..2)',
    ],
    [
      'a cache of another task',
      { task: { ...ssaTask, id: 'ped' } },
      'CACHE_MISMATCH',
      /cache was preprocessed for task 'ssa', not 'ped'$/,
    ],
  ] as [string, Partial<TrainOptions>, MedNeXtErrorCode, string | RegExp][])(
    '%s',
    async (_what, over, code, message) => {
      const out = path.join(tmp, `bad-${code}-${Math.random().toString(36).slice(2)}`);
      const error = await rejection(trainFold(options(out, over)));
      expect(error.code).toBe(code);
      if (typeof message === 'string') expect(error.message).toBe(message);
      else expect(error.message).toMatch(message);
      expect(existsSync(new RunFiles(out).fold(0).last)).toBe(false); // refused before training
    },
  );

  it('--resume without a resume file names the file', async () => {
    const out = path.join(tmp, 'no-resume');
    const error = await rejection(trainFold(options(out, { resume: true })));
    const files = new RunFiles(out).fold(0);
    expect(error.code).toBe('RESUME_MISSING');
    expect(error.file).toBe(files.resume);
    expect(error.message).toBe(`--resume: ${files.resume} does not exist (nothing to resume in ${files.dir})`);
  });

  it('an initial checkpoint that does not exist is CHECKPOINT_UNREADABLE', async () => {
    const missing = path.join(tmp, 'missing.safetensors');
    const error = await rejection(
      trainFold(options(path.join(tmp, 'init'), { init: { kind: 'checkpoint', path: missing } })),
    );
    expect(error.code).toBe('CHECKPOINT_UNREADABLE');
    expect(error.message).toBe(`${missing}: cannot read checkpoint (ENOENT)`);
  });

  it('a diverging run stops with TRAINING_DIVERGED at the first non-finite loss', async () => {
    const error = await rejection(
      trainFold(options(path.join(tmp, 'nan'), { learningRate: 1e30, iterationsPerEpoch: 3 })),
    );
    expect(error.code).toBe('TRAINING_DIVERGED');
    // Step 0 is finite; its update with lr 1e30 makes step 1's loss NaN.
    expect(error.message).toBe('epoch 0 iteration 1: the loss is NaN; lower the learning rate');
  });
});
