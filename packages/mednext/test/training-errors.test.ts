import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MedNeXtError, type MedNeXtErrorCode } from '../src/index.js';
import { RunFiles, trainFold, type TrainOptions } from '../src/node.js';
import { ssaTask, tinySsaModel } from './helpers/ssa-task.js';
import { useSyntheticTrainingRun } from './helpers/training-run.js';

const fixture = useSyntheticTrainingRun({ backend: 'cpu', cases: 3, prefix: 'mednext-train-errors-' });
const options = (outDir: string, over: Partial<TrainOptions> = {}): TrainOptions => fixture.options(outDir, over);

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
      const out = path.join(fixture.dir, `bad-${code}-${Math.random().toString(36).slice(2)}`);
      const error = await rejection(trainFold(options(out, over)));
      expect(error.code).toBe(code);
      if (typeof message === 'string') expect(error.message).toBe(message);
      else expect(error.message).toMatch(message);
      expect(existsSync(new RunFiles(out).fold(0).last)).toBe(false); // refused before training
    },
  );

  it('--resume without a resume file names the file', async () => {
    const out = path.join(fixture.dir, 'no-resume');
    const error = await rejection(trainFold(options(out, { resume: true })));
    const files = new RunFiles(out).fold(0);
    expect(error.code).toBe('RESUME_MISSING');
    expect(error.file).toBe(files.resume);
    expect(error.message).toBe(`--resume: ${files.resume} does not exist (nothing to resume in ${files.dir})`);
  });

  it('an initial checkpoint that does not exist is CHECKPOINT_UNREADABLE', async () => {
    const missing = path.join(fixture.dir, 'missing.safetensors');
    const error = await rejection(
      trainFold(options(path.join(fixture.dir, 'init'), { init: { kind: 'checkpoint', path: missing } })),
    );
    expect(error.code).toBe('CHECKPOINT_UNREADABLE');
    expect(error.message).toBe(`${missing}: cannot read checkpoint (ENOENT)`);
  });

  it('a diverging run stops with TRAINING_DIVERGED at the first non-finite loss', async () => {
    const error = await rejection(
      trainFold(options(path.join(fixture.dir, 'nan'), { learningRate: 1e30, iterationsPerEpoch: 3 })),
    );
    expect(error.code).toBe('TRAINING_DIVERGED');
    // Step 0 is finite; its update with lr 1e30 makes step 1's loss NaN.
    expect(error.message).toBe('epoch 0 iteration 1: the loss is NaN; lower the learning rate');
  });
});
