/**
 * Checkpoint files on disk: the Node side of the checkpoint module (`codec.ts` does the bytes). Reading names
 * the file in every error; writing goes to a temporary name and is renamed into place, so a killed process
 * never leaves a half-written checkpoint under the real name.
 */
import { readFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { writeFileAtomic } from '../data/node/cache.js';
import { MedNeXtError } from '../errors.js';
import { decodeCheckpoint, decodeResume, type DecodedCheckpoint } from './codec.js';

/** Reads a file's bytes; a file that cannot be read is a `CHECKPOINT_UNREADABLE` error naming it. */
export async function readCheckpointBytes(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file); // a Buffer is a Uint8Array (no copy)
  } catch (error) {
    throw new MedNeXtError(
      'CHECKPOINT_UNREADABLE',
      `${file}: cannot read checkpoint (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { file, cause: error },
    );
  }
}

/**
 * Reads a checkpoint file: our safetensors (with its {@link CheckpointMetadata}), or a PyTorch / Lightning zip
 * checkpoint (deflated entries through zlib).
 *
 * @throws MedNeXtError `CHECKPOINT_UNREADABLE` (cannot read), `CHECKPOINT_VERSION` (newer format); the
 * parser's error naming the file for bytes that are no weight file.
 * @example
 * const { weights, metadata } = await readCheckpointFile('runs/ssa-B/fold_0/checkpoint_best.safetensors');
 */
export async function readCheckpointFile(file: string): Promise<DecodedCheckpoint> {
  return decodeCheckpoint(await readCheckpointBytes(file), file, (data) => new Uint8Array(inflateRawSync(data)));
}

/** Reads a resume file written by training (see {@link decodeResume}). */
export async function readResumeFile(file: string): Promise<ReturnType<typeof decodeResume>> {
  return decodeResume(await readCheckpointBytes(file), file);
}

/** Writes checkpoint bytes ({@link encodeCheckpoint}, {@link encodeResume}) atomically (temporary name, rename). */
export async function writeCheckpointFile(file: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(file, bytes);
  } catch (error) {
    // writeFileAtomic's message already reads `cannot write <file>: <reason>`.
    throw new MedNeXtError('RUN_WRITE_FAILED', (error as Error).message, { file, cause: error });
  }
}
