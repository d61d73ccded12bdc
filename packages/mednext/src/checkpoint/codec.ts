/**
 * Checkpoint files as bytes (browser-safe; the Node file side is `checkpoint/node.ts`):
 *
 * - `checkpoint_{best,last}.safetensors`: the model weights (Schedule-Free x, i.e. saved in eval mode) under the
 *   official names, with the {@link CheckpointMetadata} in `__metadata__`.
 * - `checkpoint_last.resume.safetensors`: the same weights plus the optimizer state (`optimizer/<entry>` tensors)
 *   and, in the metadata, the epoch, the data-sampling RNG state and the best score so far: everything `--resume`
 *   needs, in one file written atomically.
 *
 * PyTorch / Lightning zip checkpoints are read too (weights only, no metadata).
 */
import type { RandomState } from '@mednext-ts/tensor3d';
import { MedNeXtError } from '../errors.js';
import type { OptimizerKind, OptimizerState } from '../training/optimizer.js';
import { parseWeights, type LoadedWeights } from '../weights/checkpoint.js';
import { parseSafetensors, serializeSafetensors } from '../weights/safetensors.js';
import type { StateDict } from '../weights/tensor-map.js';
import type { InflateRaw } from '../weights/zip.js';
import { decodeCheckpointMetadata, type CheckpointMetadata } from './metadata.js';

/** Encodes model weights + a metadata map ({@link encodeCheckpointMetadata}) as a checkpoint file. */
export function encodeCheckpoint(weights: StateDict, metadata: Record<string, string>): Uint8Array {
  return serializeSafetensors(weights, metadata);
}

/** A checkpoint read from bytes: its weights as stored and what its metadata says. */
export interface DecodedCheckpoint {
  /** Tensors and raw metadata map (empty for PyTorch files), and which container the file was. */
  weights: LoadedWeights;
  metadata: CheckpointMetadata;
}

/**
 * Reads a checkpoint held in memory: our safetensors (any format version up to the current one), another
 * safetensors file, or a PyTorch / Lightning zip checkpoint (read without executing anything). `source` names
 * the file in errors.
 *
 * @throws MedNeXtError `CHECKPOINT_VERSION` for a file written by a newer mednext-ts; the parser's error
 * naming the file for bytes that are no weight file.
 * @example
 * const { weights, metadata } = decodeCheckpoint(new Uint8Array(await file.arrayBuffer()), file.name);
 */
export function decodeCheckpoint(bytes: Uint8Array, source: string, inflateRaw?: InflateRaw): DecodedCheckpoint {
  const weights = parseWeights(bytes, source, inflateRaw);
  return { weights, metadata: decodeCheckpointMetadata(weights.metadata, source) };
}

/** Training-loop state stored with a resume checkpoint. */
export interface ResumeState {
  /** Last completed epoch (0-based). */
  epoch: number;
  rng: RandomState;
  bestDice: number | null;
  bestEpoch: number | null;
}

const OPT_PREFIX = 'optimizer/';

/** Encodes weights, optimizer state and loop state into one resume file. */
export function encodeResume(
  weights: StateDict,
  optimizer: OptimizerState,
  state: ResumeState,
  metadata: Record<string, string>,
): Uint8Array {
  const tensors: StateDict = new Map(weights);
  for (const [name, t] of optimizer.tensors) tensors.set(`${OPT_PREFIX}${name}`, t);
  return serializeSafetensors(tensors, {
    ...metadata,
    resume: JSON.stringify(state),
    optimizer: JSON.stringify({ kind: optimizer.kind, words: optimizer.words, order: optimizer.order }),
  });
}

/**
 * Decodes a file written by {@link encodeResume}.
 *
 * @throws MedNeXtError `CHECKPOINT_INVALID` when the file is no resume checkpoint, `CHECKPOINT_VERSION` when a
 * newer mednext-ts wrote it.
 */
export function decodeResume(
  bytes: Uint8Array,
  source: string,
): { weights: StateDict; optimizer: OptimizerState; state: ResumeState; metadata: Record<string, string> } {
  const file = parseSafetensors(bytes, source);
  const metadata = file.metadata ?? {};
  decodeCheckpointMetadata(metadata, source); // the version check
  if (!metadata.resume || !metadata.optimizer) {
    throw new MedNeXtError(
      'CHECKPOINT_INVALID',
      `${source}: not a resume checkpoint (no 'resume'/'optimizer' metadata)`,
      { file: source },
    );
  }
  const weights: StateDict = new Map();
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of file.tensors) {
    if (name.startsWith(OPT_PREFIX)) tensors.set(name.slice(OPT_PREFIX.length), t);
    else weights.set(name, t);
  }
  let opt: { kind: OptimizerKind; words: Record<string, number[]>; order: string[] };
  let state: ResumeState;
  try {
    opt = JSON.parse(metadata.optimizer) as typeof opt;
    state = JSON.parse(metadata.resume) as ResumeState;
  } catch (error) {
    throw new MedNeXtError(
      'CHECKPOINT_INVALID',
      `${source}: the resume state is not valid JSON (${(error as Error).message})`,
      { file: source, cause: error },
    );
  }
  return {
    weights,
    optimizer: { kind: opt.kind, words: opt.words, order: opt.order, tensors },
    state,
    metadata,
  };
}
