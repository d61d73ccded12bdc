import { existsSync } from 'node:fs';
import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MedNeXtError } from '@mednext-ts/mednext';
import { RunFiles } from '@mednext-ts/mednext/node';
import { claimFolds, prepareRunFolder, type RunFolderRequest } from '../src/lib/run-folder.js';
import { tempDir } from './cli-helpers.js';

const tmp = tempDir('mednext-run-folder-');

/** A run folder whose fold 0 holds a last checkpoint, split into `folds` folds. */
async function runWithCheckpoint(name: string, folds: number): Promise<RunFiles> {
  const run = new RunFiles(path.join(tmp, name));
  await run.createFold(0);
  await run.writeSplits({ seed: 1, sources: {}, folds: Array.from({ length: folds }, () => ({ train: [], val: [] })) });
  await run.writeCheckpoint(0, 'last', new Uint8Array([1]));
  return run;
}

const request = (run: RunFiles, over: Partial<RunFolderRequest> = {}): RunFolderRequest => ({
  outDir: run.dir,
  resume: false,
  overwrite: false,
  ...over,
});

async function refusal(work: Promise<unknown>): Promise<MedNeXtError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MedNeXtError);
  return error as MedNeXtError;
}

describe('run folder guards', () => {
  it('refuse to retrain a fold with checkpoints (RUN_FOLDER_CONFLICT), unless --resume or --overwrite', async () => {
    const run = await runWithCheckpoint('taken', 2);
    const error = await refusal(claimFolds(request(run), [0, 1]));
    expect(error.code).toBe('RUN_FOLDER_CONFLICT');
    expect(error.message).toBe(
      `${run.fold(0).dir} (checkpoint_last.safetensors) already holds a training run. Pass --resume to continue ` +
        '(finished folds are kept), --overwrite to delete it and train again, or choose a new --out.',
    );
    await claimFolds(request(run, { resume: true }), [0]);
    expect(existsSync(run.fold(0).last)).toBe(true);
    await claimFolds(request(run, { overwrite: true }), [0]);
    expect(existsSync(run.fold(0).last)).toBe(false);
  });

  it('refuse another fold count than splits.json has (RUN_FOLDER_CONFLICT); --overwrite starts a new split', async () => {
    const run = await runWithCheckpoint('recount', 2);
    const error = await refusal(prepareRunFolder(request(run, { foldsRequested: 3 })));
    expect(error.code).toBe('RUN_FOLDER_CONFLICT');
    expect(error.message).toMatch(/^--num-folds 3: .*splits\.json already splits the cases into 2 folds\./);
    await prepareRunFolder(request(run, { foldsRequested: 2 })); // the same count is fine
    await prepareRunFolder(request(run, { foldsRequested: 3, overwrite: true }));
    expect(existsSync(run.splits)).toBe(false);
    expect(existsSync(run.fold(0).last)).toBe(false);
  });

  it('--resume with --overwrite is a TRAINING_SETTING error; a killed write leaves no debris after the next start', async () => {
    const run = await runWithCheckpoint('debris', 2);
    const error = await refusal(prepareRunFolder(request(run, { resume: true, overwrite: true })));
    expect(error.code).toBe('TRAINING_SETTING');
    expect(error.message).toBe('--resume and --overwrite exclude each other; pick one');
    // A temporary name of a writer that is gone (no such pid), older than this process.
    const stale = path.join(run.fold(0).dir, '.checkpoint_last.safetensors.99999999.0badf00d.tmp');
    await writeFile(stale, 'x');
    await utimes(stale, new Date(0), new Date(0));
    await prepareRunFolder(request(run, { resume: true }));
    expect(existsSync(stale)).toBe(false);
  });
});
