/**
 * What `-m/--model` may name: a checkpoint file, a fold folder (`runs/a/fold_0`) or a run folder (`runs/a`, every
 * `fold_<n>` inside it, as nnU-Net's `-f 0 1 2 3 4`), narrowed by `--folds 0,2` and `--checkpoint last|best`.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { RunFiles, type CheckpointChoice } from '@mednext-ts/mednext/node';

/** Which checkpoint of a fold folder to use. */
export type { CheckpointChoice };

/** Options of {@link resolveModelPaths}. */
export interface ModelPathOptions {
  /** Fold numbers to take from run folders (default: every fold found). */
  folds?: readonly number[];
  /** Checkpoint of each fold folder (default `last`, the weights after the final epoch). */
  checkpoint?: CheckpointChoice;
}

/** File name of a fold's checkpoint, as `mednext train` writes it. */
export function checkpointFileName(choice: CheckpointChoice): string {
  return RunFiles.checkpointName(choice);
}

/** Parses `--folds 0,2` (or `0 2`, `0-4`) into sorted, distinct fold numbers. */
export function parseFolds(text: string): number[] {
  const folds = new Set<number>();
  for (const part of text.split(/[,\s]+/).filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (from > to) throw new Error(`--folds: range '${part}' runs backwards`);
      for (let f = from; f <= to; f++) folds.add(f);
    } else if (/^\d+$/.test(part)) folds.add(Number(part));
    else throw new Error(`--folds: expected fold numbers such as 0,2 or 0-4, got '${text}'`);
  }
  if (folds.size === 0) throw new Error(`--folds: no fold numbers in '${text}'`);
  return [...folds].sort((a, b) => a - b);
}

async function isDirectory(file: string): Promise<boolean> {
  return (await stat(file).catch(() => null))?.isDirectory() ?? false;
}

async function checkpointIn(foldDir: string, choice: CheckpointChoice): Promise<string> {
  const file = path.join(foldDir, checkpointFileName(choice));
  if (!(await stat(file).catch(() => null))?.isFile()) {
    const present = (await readdir(foldDir)).filter((f) => f.endsWith('.safetensors') && !f.includes('.resume.'));
    throw new Error(
      `${foldDir}: no ${checkpointFileName(choice)}` +
        (present.length > 0
          ? ` (found ${present.join(', ')}; --checkpoint picks another)`
          : ' (the fold has not finished an epoch)'),
    );
  }
  return file;
}

/**
 * Expands every `--model` value into checkpoint files, in order: a file stays as it is; a fold folder gives its
 * checkpoint; a run folder gives one checkpoint per `fold_<n>` (all, or those in `folds`).
 * @throws naming the folder when it holds no folds, a requested fold is missing, or a fold has no such checkpoint
 */
export async function resolveModelPaths(specs: readonly string[], options: ModelPathOptions = {}): Promise<string[]> {
  const choice = options.checkpoint ?? 'last';
  const files: string[] = [];
  for (const spec of specs) {
    if (!(await isDirectory(spec))) {
      files.push(spec);
      continue;
    }
    const entries = await readdir(spec, { withFileTypes: true });
    const folds = new Map<number, string>();
    for (const e of entries) {
      const fold = RunFiles.foldOfDirName(e.name);
      if (fold !== null && e.isDirectory()) folds.set(fold, path.join(spec, e.name));
    }
    if (folds.size === 0) {
      if (entries.some((e) => e.name.startsWith('checkpoint_'))) {
        files.push(await checkpointIn(spec, choice));
        continue;
      }
      throw new Error(`${spec}: a folder with neither fold_<n> folders (a training run) nor checkpoints (a fold)`);
    }
    const available = [...folds.keys()].sort((a, b) => a - b);
    const wanted = options.folds ?? available;
    const missing = wanted.filter((f) => !folds.has(f));
    if (missing.length > 0)
      throw new Error(`${spec}: no fold ${missing.join(', ')} (the run has folds ${available.join(', ')})`);
    for (const f of wanted) files.push(await checkpointIn(folds.get(f)!, choice));
  }
  return files;
}
