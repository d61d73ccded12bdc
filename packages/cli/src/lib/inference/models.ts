/**
 * Consistency checks between loaded checkpoints and the task they are used for.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { isZip, type InferenceModel, type TaskDefinition } from '@mednext-ts/mednext';
import type { CheckpointInfo } from '@mednext-ts/mednext/node';

/** A checkpoint loaded for inference, with what its metadata says. */
export type LoadedModel = InferenceModel & { info: CheckpointInfo };

/**
 * Every model must predict the task's regions in the task's order, and all models must take the
 * same modalities in the same order (the first model's order is used to load the cases).
 */
export function checkModelsAgainstTask(models: readonly LoadedModel[], task: TaskDefinition): void {
  const regions = task.regions.map((r) => r.name);
  const modalities = models[0]?.info.modalities;
  for (const m of models) {
    if (m.outChannels !== regions.length) {
      throw new Error(
        `${m.name} predicts ${m.outChannels} regions; task '${task.id}' has ${regions.length} (${regions.join(', ')})`,
      );
    }
    if (m.info.regions && m.info.regions.join(',') !== regions.join(',')) {
      throw new Error(
        `${m.name} predicts regions ${m.info.regions.join(', ')}; task '${task.id}' expects ${regions.join(', ')} in that order`,
      );
    }
    const mine = m.info.modalities;
    if (mine && modalities && mine.join(',') !== modalities.join(',')) {
      throw new Error(
        `${m.name} takes modalities ${mine.join(', ')} but ${models[0]!.name} takes ${modalities.join(', ')}`,
      );
    }
    if (mine && mine.length !== m.inChannels)
      throw new Error(`${m.name}: ${mine.length} modalities recorded for a ${m.inChannels}-channel network`);
  }
}

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
