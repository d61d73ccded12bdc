/** The temporary folder, synthetic SSA cache and tiny training options shared by the trainFold test files. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { selectBackend } from '@mednext-ts/tensor3d';
import { NO_AUGMENTATION } from '../../src/data/index.js';
import type { TrainOptions } from '../../src/training/node/index.js';
import { ssaTask, tinySsaModel } from './ssa-task.js';
import { writeSyntheticCache } from './synthetic-cache.js';

/** What {@link useSyntheticTrainingRun} provides once its `beforeAll` has run. */
export interface SyntheticTrainingRun {
  /** The test file's temporary folder (removed after its tests). */
  readonly dir: string;
  /** The preprocessing cache inside it. */
  readonly cache: string;
  /**
   * Options training tinySsaModel on the cache into `outDir`: fold 0 of 3, 16³ patches, one epoch of one step
   * with batch 1, schedule-free at lr 0.01, dice-focal, no augmentation, seed 3; `over` replaces any of them.
   */
  options(outDir: string, over?: Partial<TrainOptions>): TrainOptions;
}

/**
 * Registers this test file's `beforeAll` (select `backend`, write `cases` synthetic SSA cases of 20³ into a fresh
 * temporary folder named with `prefix`) and `afterAll` (remove the folder). Call at the top level of a test file.
 *
 * @example
 * ```ts
 * const run = useSyntheticTrainingRun({ backend: 'cpu', cases: 3, prefix: 'mednext-train-errors-' });
 * it('trains', async () => expect((await trainFold(run.options(path.join(run.dir, 'a')))).status).toBe('completed'));
 * ```
 */
export function useSyntheticTrainingRun(setup: {
  backend: Parameters<typeof selectBackend>[0];
  cases: number;
  prefix: string;
}): SyntheticTrainingRun {
  let dir = '';
  beforeAll(async () => {
    await selectBackend(setup.backend);
    dir = await mkdtemp(path.join(os.tmpdir(), setup.prefix));
    await writeSyntheticCache(path.join(dir, 'cache'), ssaTask, setup.cases, [20, 20, 20]);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    get cache() {
      return path.join(dir, 'cache');
    },
    options: (outDir, over = {}) => ({
      task: ssaTask,
      cacheDir: path.join(dir, 'cache'),
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
    }),
  };
}
