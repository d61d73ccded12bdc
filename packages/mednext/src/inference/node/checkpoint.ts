/**
 * Loading a trained checkpoint (safetensors, or PyTorch / Lightning) from disk as an {@link InferenceModel}.
 */
import { readFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { inferenceModelFromBytes, type CheckpointModel, type LoadModelOptions } from '../checkpoint.js';

/**
 * Loads a MedNeXt checkpoint file for inference (see {@link inferenceModelFromBytes}); a file that cannot
 * be read is an error naming it.
 */
export async function loadInferenceModel(file: string, options: LoadModelOptions = {}): Promise<CheckpointModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new Error(
      `${file}: cannot read checkpoint (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
  return inferenceModelFromBytes(bytes, file, {
    inflateRaw: (data) => new Uint8Array(inflateRawSync(data)),
    ...options,
  });
}
