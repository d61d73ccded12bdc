/**
 * Loading a trained checkpoint (safetensors, or PyTorch / Lightning) from disk as an {@link InferenceModel}.
 */
import { inflateRawSync } from 'node:zlib';
import { readCheckpointBytes } from '../../checkpoint/node.js';
import { inferenceModelFromBytes, type CheckpointModel, type LoadModelOptions } from '../checkpoint.js';

/**
 * Loads a MedNeXt checkpoint file for inference (see {@link inferenceModelFromBytes}); a file that cannot
 * be read is a `CHECKPOINT_UNREADABLE` {@link MedNeXtError} naming it.
 *
 * @example
 * const model = await loadInferenceModel('runs/ssa-B/fold_0/checkpoint_best.safetensors');
 */
export async function loadInferenceModel(file: string, options: LoadModelOptions = {}): Promise<CheckpointModel> {
  return inferenceModelFromBytes(await readCheckpointBytes(file), file, {
    inflateRaw: (data) => new Uint8Array(inflateRawSync(data)),
    ...options,
  });
}
