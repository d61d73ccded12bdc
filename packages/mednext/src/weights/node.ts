/**
 * Node-only helpers: read and write weight files from disk (zlib for deflated zip entries).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { parseWeights, type LoadedWeights } from './checkpoint.js';
import { serializeSafetensors } from './safetensors.js';
import type { StateDict } from './tensor-map.js';

/** Reads a `.safetensors` or PyTorch `.pth`/`.pt` file. */
export async function readWeightsFile(file: string): Promise<LoadedWeights> {
  const bytes = new Uint8Array(await readFile(file));
  return parseWeights(bytes, file, (d) => new Uint8Array(inflateRawSync(d)));
}

/** Writes a state dict as `.safetensors` (F32). */
export async function writeSafetensorsFile(
  file: string,
  tensors: StateDict,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFile(file, serializeSafetensors(tensors, metadata));
}
