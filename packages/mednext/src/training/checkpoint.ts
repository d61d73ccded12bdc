/**
 * Checkpoint files of a training run.
 *
 * - `checkpoint_{best,last}.safetensors`: the model weights (Schedule-Free x, i.e. saved in eval
 *   mode) under the official names, with `__metadata__` holding the network config
 *   ({@link configToMetadata}) and what inference needs to use the model correctly: task,
 *   region names and definitions in channel order, input modalities in channel order, patch size,
 *   normalisation. Every value is JSON-encoded.
 * - `checkpoint_last.resume.safetensors`: the same weights plus the optimizer state
 *   (`optimizer/<entry>` tensors) and, in the metadata, the epoch, the data-sampling RNG state and
 *   the best score so far: everything `--resume` needs, in one file written atomically.
 */
import type { RandomState, Shape3 } from '@mednext-ts/tensor3d';
import type { MedNeXtConfig } from '../model/config.js';
import type { NormalizationParams } from '../tasks/normalization.js';
import type { RegionDefinition } from '../tasks/task.js';
import { parseSafetensors, serializeSafetensors } from '../weights/safetensors.js';
import { configFromMetadata, configToMetadata } from '../weights/state-dict.js';
import type { StateDict } from '../weights/tensor-map.js';
import type { OptimizerKind, OptimizerState } from './optimizer.js';

/** Value of the `format` metadata key. */
export const CHECKPOINT_FORMAT = 'mednext-ts/checkpoint@1';

/** What a checkpoint says about how to use the model. */
export interface TrainingCheckpointInfo {
  task: string;
  /** Output channels in order (sigmoid per channel). */
  regions: RegionDefinition[];
  /** Input channels in order (BraTS modality suffixes). */
  modalities: string[];
  patchSize: Shape3;
  /** Intensity normalisation of each input channel, in modality order (what preprocessing applied). */
  normalization: NormalizationParams[];
  fold: number | null;
  /** Last completed epoch (0-based). */
  epoch: number;
  valDiceMean: number | null;
  /** Training settings, for the record. */
  training: Record<string, unknown>;
}

/** Metadata map of a checkpoint: network config + {@link TrainingCheckpointInfo}, JSON-encoded values. */
export function checkpointMetadata(config: MedNeXtConfig, info: TrainingCheckpointInfo): Record<string, string> {
  return {
    ...configToMetadata(config),
    format: JSON.stringify(CHECKPOINT_FORMAT),
    task: JSON.stringify(info.task),
    regions: JSON.stringify(info.regions.map((r) => r.name)),
    region_definitions: JSON.stringify(info.regions),
    modalities: JSON.stringify(info.modalities),
    patch_size: JSON.stringify(info.patchSize),
    normalization: JSON.stringify(info.normalization),
    fold: JSON.stringify(info.fold),
    epoch: JSON.stringify(info.epoch),
    val_dice_mean: JSON.stringify(info.valDiceMean),
    training: JSON.stringify(info.training),
  };
}

/** Reads {@link TrainingCheckpointInfo} and the network config back; `source` names the file in errors. */
export function readCheckpointMetadata(
  metadata: Record<string, string>,
  source: string,
): { config: MedNeXtConfig; info: TrainingCheckpointInfo } {
  const config = configFromMetadata(metadata);
  if (!config) throw new Error(`${source}: no network config in the safetensors metadata (not a mednext checkpoint?)`);
  const get = <T>(key: string): T => {
    if (!(key in metadata))
      throw new Error(`${source}: metadata key '${key}' is missing (not a mednext training checkpoint?)`);
    return JSON.parse(metadata[key]!) as T;
  };
  return {
    config,
    info: {
      task: get('task'),
      regions: get('region_definitions'),
      modalities: get('modalities'),
      patchSize: get('patch_size'),
      normalization: get('normalization'),
      fold: get('fold'),
      epoch: get('epoch'),
      valDiceMean: get('val_dice_mean'),
      training: get('training'),
    },
  };
}

/** Encodes model weights + metadata as a checkpoint file. */
export function encodeCheckpoint(weights: StateDict, metadata: Record<string, string>): Uint8Array {
  return serializeSafetensors(weights, metadata);
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

/** Decodes a file written by {@link encodeResume}. */
export function decodeResume(
  bytes: Uint8Array,
  source: string,
): { weights: StateDict; optimizer: OptimizerState; state: ResumeState; metadata: Record<string, string> } {
  const file = parseSafetensors(bytes, source);
  const metadata = file.metadata ?? {};
  if (!metadata.resume || !metadata.optimizer) {
    throw new Error(`${source}: not a resume checkpoint (no 'resume'/'optimizer' metadata)`);
  }
  const weights: StateDict = new Map();
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of file.tensors) {
    if (name.startsWith(OPT_PREFIX)) tensors.set(name.slice(OPT_PREFIX.length), t);
    else weights.set(name, t);
  }
  const opt = JSON.parse(metadata.optimizer) as {
    kind: OptimizerKind;
    words: Record<string, number[]>;
    order: string[];
  };
  return {
    weights,
    optimizer: { kind: opt.kind, words: opt.words, order: opt.order, tensors },
    state: JSON.parse(metadata.resume) as ResumeState,
    metadata,
  };
}
