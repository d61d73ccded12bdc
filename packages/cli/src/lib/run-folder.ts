/**
 * Guards of a training run folder (`--out`): a rerun must neither silently retrain (and overwrite) folds that
 * already hold checkpoints nor silently ignore a `--num-folds` that disagrees with the existing `splits.json`. Each
 * refusal names the ways forward: `--resume`, `--overwrite`, or a new `--out`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { MedNeXtError } from '@mednext-ts/mednext';
import { RunFiles } from '@mednext-ts/mednext/node';

/** How the command was asked to treat an existing run folder. */
export interface RunFolderRequest {
  outDir: string;
  /** `--splits`: a splits file outside the run folder (never deleted). */
  splitsFile?: string;
  /** `--num-folds` when given on the command line (not the task default). */
  foldsRequested?: number;
  resume: boolean;
  overwrite: boolean;
}

/**
 * Before the split is loaded: removes temporary files of killed writes, and checks `--num-folds` against an existing
 * splits file. With `overwrite`, a run-folder `splits.json` with another fold count is deleted together with
 * the checkpoints of every fold made from it (they were trained on the old split).
 *
 * @throws MedNeXtError `RUN_FOLDER_CONFLICT` naming `--resume`/`--overwrite`/a new `--out` when the request would
 *   lose or ignore something; `TRAINING_SETTING` for `--resume` with `--overwrite`.
 */
export async function prepareRunFolder(request: RunFolderRequest): Promise<void> {
  if (request.resume && request.overwrite)
    throw new MedNeXtError('TRAINING_SETTING', '--resume and --overwrite exclude each other; pick one');
  const run = new RunFiles(request.outDir);
  await run.removeDebris();
  const own = run.splits;
  const file = request.splitsFile ?? own;
  if (request.foldsRequested === undefined || !existsSync(file)) return;
  let count: number | undefined;
  try {
    count = (JSON.parse(await readFile(file, 'utf8')) as { folds?: unknown[] }).folds?.length;
  } catch {
    return; // loadOrCreateSplits reports an unreadable file with its own message
  }
  if (count === undefined || count === request.foldsRequested) return;
  if (request.overwrite && file === own) {
    await run.removeSplits();
    for (const fold of await run.existingFolds()) await run.clearFold(fold);
    return;
  }
  throw new MedNeXtError(
    'RUN_FOLDER_CONFLICT',
    `--num-folds ${request.foldsRequested}: ${file} already splits the cases into ${count} folds. ` +
      (file === own
        ? `Drop --num-folds (or pass --num-folds ${count}) to keep that split, pass --overwrite to make a new ${request.foldsRequested}-fold split ` +
          `and delete the checkpoints trained on the old one, or choose a new --out.`
        : `Drop --num-folds (or pass --num-folds ${count}) to use that split, or leave out --splits to make a new one in a new --out.`),
  );
}

/**
 * Once the folds to train are known: refuses to retrain folds that hold checkpoints unless `--resume` (continue
 * them) or `--overwrite` (delete their files and start again).
 */
export async function claimFolds(request: RunFolderRequest, folds: readonly number[]): Promise<void> {
  if (request.resume) return;
  const run = new RunFiles(request.outDir);
  const taken = folds
    .map((fold) => ({ fold, dir: run.fold(fold).dir, files: run.checkpointsIn(fold) }))
    .filter((f) => f.files.length > 0);
  if (taken.length === 0) return;
  if (request.overwrite) {
    for (const f of taken) await run.clearFold(f.fold);
    return;
  }
  throw new MedNeXtError(
    'RUN_FOLDER_CONFLICT',
    `${taken.map((f) => `${f.dir} (${f.files.join(', ')})`).join('; ')} already ${taken.length === 1 ? 'holds' : 'hold'} ` +
      'a training run. Pass --resume to continue (finished folds are kept), --overwrite to delete ' +
      `${taken.length === 1 ? 'it' : 'them'} and train again, or choose a new --out.`,
  );
}
