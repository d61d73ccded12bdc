/**
 * Typed errors of `@mednext-ts/mednext`. A failure that reaches a user (a checkpoint that cannot be read,
 * a run folder that would lose work, a training setting out of range) is a {@link MedNeXtError}: its
 * message is the clear sentence the user sees (naming the file and the problem), its `code` a stable
 * reason a caller can branch on without parsing the message.
 *
 * @example
 * ```ts
 * try {
 *   await loadInferenceModel(file);
 * } catch (error) {
 *   if (error instanceof MedNeXtError && error.code === 'CHECKPOINT_VERSION') console.error('update mednext-ts');
 *   else throw error;
 * }
 * ```
 */

/** Stable machine-readable reasons of a {@link MedNeXtError}. */
export type MedNeXtErrorCode =
  /** A checkpoint file could not be read from disk. */
  | 'CHECKPOINT_UNREADABLE'
  /** The file is not a mednext checkpoint, or its metadata is malformed or incomplete. */
  | 'CHECKPOINT_INVALID'
  /** The checkpoint was written by a newer mednext-ts (an unknown format version). */
  | 'CHECKPOINT_VERSION'
  /** `--resume` asked for a resume file that is missing or is not one. */
  | 'RESUME_MISSING'
  /** A file of a run folder could not be written. */
  | 'RUN_WRITE_FAILED'
  /** The run folder already holds something the request would lose or ignore (folds, another split). */
  | 'RUN_FOLDER_CONFLICT'
  /** The splits file is missing, unreadable, or has no such fold. */
  | 'SPLITS_INVALID'
  /** The preprocessing cache does not fit the task (another task, another normalisation). */
  | 'CACHE_MISMATCH'
  /** A training setting is out of range or inconsistent with the task. */
  | 'TRAINING_SETTING'
  /** Training diverged (a non-finite loss). */
  | 'TRAINING_DIVERGED';

/** An error of mednext that a user should see; `file` is the file it concerns, when there is one. */
export class MedNeXtError extends Error {
  override readonly name = 'MedNeXtError';

  constructor(
    /** Stable reason code. */
    readonly code: MedNeXtErrorCode,
    /** The full sentence for the user (it already names the file when there is one). */
    message: string,
    options: { file?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.file = options.file;
  }

  /** The file the problem was found in, when there is one. */
  readonly file: string | undefined;
}

/** Whether `error` is a {@link MedNeXtError} with this code (or any code when none is given). */
export function isMedNeXtError(error: unknown, code?: MedNeXtErrorCode): error is MedNeXtError {
  return error instanceof MedNeXtError && (code === undefined || error.code === code);
}
