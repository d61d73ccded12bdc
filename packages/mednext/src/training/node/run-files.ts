/**
 * The files of a training run folder, in one place: every name (`splits.json`, `fold_<n>/` with its checkpoints,
 * resume file, log, plot and settings record) and every write, each one atomic (a temporary name renamed into
 * place), so a killed run leaves either the old file or the new one, and debris that {@link RunFiles.removeDebris}
 * recognises.
 *
 * ```text
 * <run>/splits.json
 * <run>/fold_0/checkpoint_last.safetensors          weights after the last epoch
 * <run>/fold_0/checkpoint_best.safetensors          weights of the best validation epoch
 * <run>/fold_0/checkpoint_last.resume.safetensors   weights + optimizer + loop state, for --resume
 * <run>/fold_0/log.jsonl                            one line per epoch
 * <run>/fold_0/progress.svg                         losses and Dice per epoch
 * <run>/fold_0/train-config.json                    the settings of the run
 * ```
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { removeStaleTemporaryFiles } from '@mednext-ts/io-nifti/node';
import { readResumeFile, writeCheckpointFile } from '../../checkpoint/node.js';
import { writeFileAtomic } from '../../data/node/cache.js';
import { checkSplits, type SplitsFile } from '../../data/folds.js';
import { MedNeXtError } from '../../errors.js';
import type { EpochLogEntry } from '../plot.js';

/** File names inside a fold folder. */
export const FOLD_FILES = {
  last: 'checkpoint_last.safetensors',
  best: 'checkpoint_best.safetensors',
  resume: 'checkpoint_last.resume.safetensors',
  log: 'log.jsonl',
  plot: 'progress.svg',
  config: 'train-config.json',
} as const;

/** Name of the split file in a run folder. */
export const SPLITS_FILE = 'splits.json';

/** Which model checkpoint of a fold: after the last epoch, or of the best validation epoch. */
export type CheckpointChoice = 'last' | 'best';

/** Paths of one fold's files. */
export type FoldFiles = { dir: string } & { [K in keyof typeof FOLD_FILES]: string };

const FOLD_DIR = /^fold_(\d+)$/;

/** Writes with the run-folder error code (the atomic writer's message already names the file). */
async function atomic(file: string, bytes: Uint8Array | string): Promise<void> {
  try {
    await writeFileAtomic(file, bytes);
  } catch (error) {
    throw new MedNeXtError('RUN_WRITE_FAILED', (error as Error).message, { file, cause: error });
  }
}

/**
 * The files of the run folder `dir`.
 *
 * @example
 * ```ts
 * const run = new RunFiles('runs/ssa-B');
 * run.fold(0).best; // runs/ssa-B/fold_0/checkpoint_best.safetensors
 * await run.writeLog(0, entries);
 * ```
 */
export class RunFiles {
  constructor(
    /** The run folder (`--out`). */
    readonly dir: string,
  ) {}

  /** Name of a fold folder: `fold_<n>`. */
  static foldDirName(fold: number): string {
    return `fold_${fold}`;
  }

  /** The fold number of a fold folder's name, or null for another name. */
  static foldOfDirName(name: string): number | null {
    const match = FOLD_DIR.exec(name);
    return match ? Number(match[1]) : null;
  }

  /** File name of a fold's model checkpoint. */
  static checkpointName(choice: CheckpointChoice): string {
    return FOLD_FILES[choice];
  }

  /** `<run>/splits.json`. */
  get splits(): string {
    return path.join(this.dir, SPLITS_FILE);
  }

  /** The paths of fold `fold`'s files. */
  fold(fold: number): FoldFiles {
    const dir = path.join(this.dir, RunFiles.foldDirName(fold));
    const files = Object.fromEntries(Object.entries(FOLD_FILES).map(([key, name]) => [key, path.join(dir, name)]));
    return { dir, ...files } as FoldFiles;
  }

  /** The fold numbers that have a folder, ascending (none when the run folder does not exist). */
  async existingFolds(): Promise<number[]> {
    try {
      return (await readdir(this.dir, { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => RunFiles.foldOfDirName(e.name))
        .filter((n): n is number => n !== null)
        .sort((a, b) => a - b);
    } catch {
      return [];
    }
  }

  /** The names of the checkpoint files fold `fold` holds (empty when none, i.e. nothing would be lost). */
  checkpointsIn(fold: number): string[] {
    const files = this.fold(fold);
    return (['last', 'best', 'resume'] as const).filter((k) => existsSync(files[k])).map((k) => FOLD_FILES[k]);
  }

  /** Whether fold `fold` has a resume file. */
  canResume(fold: number): boolean {
    return existsSync(this.fold(fold).resume);
  }

  /** Deletes every file the trainer writes in fold `fold`'s folder. */
  async clearFold(fold: number): Promise<void> {
    const files = this.fold(fold);
    await Promise.all(
      (Object.keys(FOLD_FILES) as (keyof typeof FOLD_FILES)[]).map((k) => rm(files[k], { force: true })),
    );
  }

  /** Deletes the run's split file (with `--overwrite` and another fold count). */
  async removeSplits(): Promise<void> {
    await rm(this.splits, { force: true });
  }

  /** Removes the temporary files of killed writes in the run folder and its fold folders; returns their names. */
  async removeDebris(): Promise<string[]> {
    const dirs = [this.dir, ...(await this.existingFolds()).map((f) => this.fold(f).dir)];
    return (await Promise.all(dirs.map((d) => removeStaleTemporaryFiles(d)))).flat();
  }

  /** Creates fold `fold`'s folder; returns its files. */
  async createFold(fold: number): Promise<FoldFiles> {
    const files = this.fold(fold);
    await mkdir(files.dir, { recursive: true });
    return files;
  }

  /**
   * Reads and checks a split file: `file` (e.g. `--splits`), else the run's own.
   *
   * @returns null when the run's own file does not exist yet
   * @throws MedNeXtError `SPLITS_INVALID` when a given `file` does not exist or cannot be parsed
   */
  async readSplits(file?: string): Promise<SplitsFile | null> {
    const target = file ?? this.splits;
    if (!existsSync(target)) {
      if (file) throw new MedNeXtError('SPLITS_INVALID', `--splits ${file}: file not found`, { file });
      return null;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(target, 'utf8'));
    } catch (error) {
      throw new MedNeXtError('SPLITS_INVALID', `${target}: cannot read the split (${(error as Error).message})`, {
        file: target,
        cause: error,
      });
    }
    return checkSplits(parsed, target);
  }

  /** Writes the run's split file. */
  async writeSplits(splits: SplitsFile): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await atomic(this.splits, JSON.stringify(splits, null, 1));
  }

  /** Writes the record of fold `fold`'s settings (`train-config.json`). */
  async writeTrainConfig(fold: number, record: Record<string, unknown>): Promise<void> {
    await atomic(this.fold(fold).config, JSON.stringify(record, null, 1));
  }

  /** Writes a model checkpoint of fold `fold` (bytes of `encodeCheckpoint`). */
  async writeCheckpoint(fold: number, choice: CheckpointChoice, bytes: Uint8Array): Promise<void> {
    await writeCheckpointFile(this.fold(fold)[choice], bytes);
  }

  /** Writes fold `fold`'s resume file (bytes of `encodeResume`). */
  async writeResume(fold: number, bytes: Uint8Array): Promise<void> {
    await writeCheckpointFile(this.fold(fold).resume, bytes);
  }

  /**
   * Reads fold `fold`'s resume file.
   *
   * @throws MedNeXtError `RESUME_MISSING` when there is none
   */
  async readResume(fold: number): Promise<Awaited<ReturnType<typeof readResumeFile>>> {
    const files = this.fold(fold);
    if (!existsSync(files.resume))
      throw new MedNeXtError(
        'RESUME_MISSING',
        `--resume: ${files.resume} does not exist (nothing to resume in ${files.dir})`,
        { file: files.resume },
      );
    return readResumeFile(files.resume);
  }

  /** The log entries of fold `fold` up to epoch `upToEpoch` (a resumed run drops those of an unfinished epoch). */
  async readLog(fold: number, upToEpoch: number): Promise<EpochLogEntry[]> {
    const file = this.fold(fold).log;
    if (!existsSync(file)) return [];
    return (await readFile(file, 'utf8'))
      .split('\n')
      .filter((l) => l.trim().length > 0)
      .map((l) => JSON.parse(l) as EpochLogEntry)
      .filter((e) => e.epoch <= upToEpoch);
  }

  /** Writes fold `fold`'s whole log (one JSON line per epoch), replacing the previous one. */
  async writeLog(fold: number, entries: readonly EpochLogEntry[]): Promise<void> {
    await atomic(this.fold(fold).log, entries.map((e) => JSON.stringify(e) + '\n').join(''));
  }

  /** Writes fold `fold`'s progress plot. */
  async writePlot(fold: number, svg: string): Promise<void> {
    await atomic(this.fold(fold).plot, svg);
  }
}
