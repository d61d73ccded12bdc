/** The MedNeXt config that goes with a weights file, for the `model` commands. */
import { readFile } from 'node:fs/promises';
import { decodeCheckpointMetadata, type MedNeXtConfig } from '@mednext-ts/mednext';

/**
 * Reads `configFile` (official constructor arguments as JSON) when given, else takes the config stored in the
 * weights' safetensors metadata (read by the checkpoint module). Errors name the flag and the file.
 */
export async function resolveModelConfig(
  configFile: string | undefined,
  weightsFile: string,
  metadata: Record<string, string>,
): Promise<MedNeXtConfig> {
  if (configFile) {
    try {
      return JSON.parse(await readFile(configFile, 'utf8')) as MedNeXtConfig;
    } catch (error) {
      throw new Error(`--config ${configFile}: ${(error as Error).message}`, { cause: error });
    }
  }
  // The checkpoint reader: the stored config, and a clear error for a file written by a newer mednext-ts.
  const { config } = decodeCheckpointMetadata(metadata, weightsFile);
  if (!config) throw new Error(`--model ${weightsFile} holds no config in its metadata; pass --config CONFIG.json`);
  return config;
}
