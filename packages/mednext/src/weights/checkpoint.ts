/**
 * One entry point for weight files: `.safetensors` or a PyTorch zip checkpoint, told apart by
 * their first bytes (not the file name).
 */
import { isZip, readPth } from './pth.js';
import { parseSafetensors } from './safetensors.js';
import type { StateDict } from './tensor-map.js';
import type { InflateRaw } from './zip.js';

/** Weights read from a file. */
export interface LoadedWeights {
  tensors: StateDict;
  /** safetensors `__metadata__` (empty for PyTorch checkpoints). */
  metadata: Record<string, string>;
  format: 'safetensors' | 'pytorch';
}

/** Parses a weight file held in memory (safetensors or PyTorch zip checkpoint). */
export function parseWeights(bytes: Uint8Array, source = 'weights', inflateRaw?: InflateRaw): LoadedWeights {
  if (isZip(bytes)) {
    const ck = readPth(bytes, source, { inflateRaw });
    return { tensors: ck.tensors, metadata: {}, format: 'pytorch' };
  }
  const st = parseSafetensors(bytes, source);
  return { tensors: st.tensors, metadata: st.metadata, format: 'safetensors' };
}
