/**
 * Consistency checks between loaded checkpoints and the task they are used for (shared with the web app,
 * so they live in @mednext-ts/mednext).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { isZip, type CheckpointModel } from '@mednext-ts/mednext';

export { checkModelsAgainstTask } from '@mednext-ts/mednext';

/** A checkpoint loaded for inference, with what its metadata says. */
export type LoadedModel = CheckpointModel;

/** Whether `file` starts like a zip archive, i.e. a PyTorch (Lightning) checkpoint rather than safetensors. */
export async function isPytorchCheckpoint(file: string): Promise<boolean> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    const head = new Uint8Array(4);
    await handle.read(head, 0, 4, 0);
    return isZip(head);
  } catch {
    return false; // unreadable files are reported by the loader with the reason
  } finally {
    await handle?.close();
  }
}
