/**
 * The metadata of a mednext checkpoint: what a `.safetensors` file's `__metadata__` says besides the tensors.
 * One type ({@link CheckpointMetadata}), one writer ({@link encodeCheckpointMetadata}) and one reader
 * ({@link decodeCheckpointMetadata}), used by training, fine-tuning, prediction, `mednext model import` and
 * `mednext model summary`, in Node and in the browser (bytes in, no file system).
 *
 * On disk every value is JSON-encoded under a snake_case key (the network config under the official argument
 * names, as the fixtures store it); `format` holds `mednext-ts/checkpoint@<version>`. Files without our `format`
 * key (older imports, other tools' safetensors) are read as version 0 with whatever keys they have.
 */
import type { Shape3 } from '@mednext-ts/tensor3d';
import { MedNeXtError } from '../errors.js';
import type { MedNeXtConfig } from '../model/config.js';
import type { NormalizationParams, NormalizationSpec } from '../tasks/normalization.js';
import type { RegionDefinition } from '../tasks/task.js';
import { configFromMetadata, configToMetadata } from '../weights/state-dict.js';

/** The format version this code writes, and the newest it reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** Value of the `format` metadata key this code writes. */
export const CHECKPOINT_FORMAT = `mednext-ts/checkpoint@${CHECKPOINT_FORMAT_VERSION}`;

const FORMAT_PATTERN = /^mednext-ts\/checkpoint@(\d+)$/;

/**
 * Everything a checkpoint's metadata records. Training checkpoints record all fields; imported ones
 * (`mednext model import`) the task, channels and window; PyTorch files none (their network is inferred
 * from the tensors).
 */
export interface CheckpointMetadata {
  /** Format version: {@link CHECKPOINT_FORMAT_VERSION} for files this code writes, 0 for files without our format key. */
  formatVersion: number;
  /** The network config, or null when the metadata stores none. */
  config: MedNeXtConfig | null;
  /** Task id the model was trained for. */
  task?: string;
  /** Region (output channel) names in channel order. */
  regions?: string[];
  /** Region definitions in channel order (training checkpoints). */
  regionDefinitions?: RegionDefinition[];
  /** Input modalities in channel order (BraTS file suffixes). */
  modalities?: string[];
  /** Training patch size, used as the sliding window. */
  patchSize?: Shape3;
  /**
   * Intensity normalisation of each input channel, in modality order, as recorded: one method per modality
   * (objects with `method` and parameters), or the string `zscore-nonzero` in older checkpoints.
   */
  normalization?: string | NormalizationSpec[];
  /** Cross-validation fold (null: trained on all cases). */
  fold?: number | null;
  /** Last completed epoch (0-based). */
  epoch?: number;
  /** Mean validation Dice at that epoch (null without validation cases). */
  valDiceMean?: number | null;
  /** Training settings, for the record. */
  training?: Record<string, unknown>;
  /** Case pipeline the task names (imported checkpoints). */
  pipeline?: string;
  /** Where an imported file came from and how it was converted. */
  source?: unknown;
}

/** What {@link encodeCheckpointMetadata} writes: the metadata without the version (always the current one). */
export type CheckpointMetadataInput = Omit<CheckpointMetadata, 'formatVersion' | 'config'> & {
  config: MedNeXtConfig;
};

/** Field name -> metadata key (and older spellings read too), in the order keys are written. */
const KEYS = {
  task: ['task', 'task_id'],
  regions: ['regions'],
  regionDefinitions: ['region_definitions'],
  modalities: ['modalities'],
  patchSize: ['patch_size', 'patchSize'],
  normalization: ['normalization'],
  fold: ['fold'],
  epoch: ['epoch'],
  valDiceMean: ['val_dice_mean'],
  training: ['training'],
  pipeline: ['pipeline'],
  source: ['source'],
} as const satisfies Record<keyof Omit<CheckpointMetadata, 'formatVersion' | 'config'>, readonly string[]>;

type Field = keyof typeof KEYS;

/**
 * The metadata map of a checkpoint (JSON-encoded values, the current `format`). `regions` is derived from
 * `regionDefinitions` when only those are given.
 *
 * @example
 * const bytes = encodeCheckpoint(getStateDict(model), encodeCheckpointMetadata({ config, task: 'ssa', patchSize: [128, 160, 112] }));
 */
export function encodeCheckpointMetadata(input: CheckpointMetadataInput): Record<string, string> {
  const out: Record<string, string> = { ...configToMetadata(input.config), format: JSON.stringify(CHECKPOINT_FORMAT) };
  const values: Partial<Record<Field, unknown>> = {
    ...input,
    regions: input.regions ?? input.regionDefinitions?.map((r) => r.name),
  };
  for (const field of Object.keys(KEYS) as Field[]) {
    const value = values[field];
    if (value !== undefined) out[KEYS[field][0]] = JSON.stringify(value);
  }
  return out;
}

/** The JSON value under the first of `keys` present; a value that is not JSON is kept as the string it is. */
function field(metadata: Record<string, string>, keys: readonly string[]): unknown {
  for (const key of keys) {
    const raw = metadata[key];
    if (raw === undefined) continue;
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw; // older imports wrote plain strings (task=ssa-paper)
    }
  }
  return undefined;
}

/**
 * The format version a metadata map declares: N for `mednext-ts/checkpoint@N`, 0 for none (or another tool's
 * `format`, such as `pt`).
 *
 * @throws MedNeXtError `CHECKPOINT_VERSION` when N is newer than {@link CHECKPOINT_FORMAT_VERSION}.
 */
export function checkpointFormatVersion(metadata: Record<string, string>, source: string): number {
  const format = field(metadata, ['format']);
  const match = typeof format === 'string' ? FORMAT_PATTERN.exec(format) : null;
  if (!match) return 0;
  const version = Number(match[1]);
  if (version > CHECKPOINT_FORMAT_VERSION) {
    throw new MedNeXtError(
      'CHECKPOINT_VERSION',
      `${source}: checkpoint format version ${version} is newer than this mednext-ts reads (${CHECKPOINT_FORMAT_VERSION}); update mednext-ts to use it`,
      { file: source },
    );
  }
  return version;
}

/**
 * Reads a checkpoint's metadata map (from a safetensors file, any version up to the current one). Keys a file
 * lacks are left out; `config` is null when it stores none. `source` names the file in errors.
 *
 * @throws MedNeXtError `CHECKPOINT_VERSION` for a file written by a newer mednext-ts.
 * @example
 * const meta = decodeCheckpointMetadata(parseSafetensors(bytes, file).metadata, file);
 * console.log(meta.task, meta.patchSize);
 */
export function decodeCheckpointMetadata(metadata: Record<string, string>, source: string): CheckpointMetadata {
  const out: CheckpointMetadata = {
    formatVersion: checkpointFormatVersion(metadata, source),
    config: configFromMetadata(metadata),
  };
  const fields = out as unknown as Record<Field, unknown>;
  for (const name of Object.keys(KEYS) as Field[]) {
    const value = field(metadata, KEYS[name]);
    if (value !== undefined) fields[name] = value;
  }
  return out;
}

/** What a training checkpoint records about how to use the model; every field present. */
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

/** The metadata map of a training checkpoint: {@link encodeCheckpointMetadata} of the network config and `info`. */
export function checkpointMetadata(config: MedNeXtConfig, info: TrainingCheckpointInfo): Record<string, string> {
  const { regions, ...rest } = info;
  return encodeCheckpointMetadata({ config, ...rest, regionDefinitions: regions });
}

/**
 * Reads the network config and {@link TrainingCheckpointInfo} of a training checkpoint (what fine-tuning needs):
 * {@link decodeCheckpointMetadata}, then every training field must be there. `source` names the file in errors.
 *
 * @throws MedNeXtError `CHECKPOINT_INVALID` naming the missing key, `CHECKPOINT_VERSION` for a newer file.
 */
export function readCheckpointMetadata(
  metadata: Record<string, string>,
  source: string,
): { config: MedNeXtConfig; info: TrainingCheckpointInfo } {
  const meta = decodeCheckpointMetadata(metadata, source);
  if (!meta.config)
    throw new MedNeXtError(
      'CHECKPOINT_INVALID',
      `${source}: no network config in the safetensors metadata (not a mednext checkpoint?)`,
      { file: source },
    );
  const need = <K extends Field>(name: K): NonNullable<CheckpointMetadata[K]> | null => {
    const value = meta[name];
    if (value === undefined)
      throw new MedNeXtError(
        'CHECKPOINT_INVALID',
        `${source}: metadata key '${KEYS[name][0]}' is missing (not a mednext training checkpoint?)`,
        { file: source },
      );
    return value as NonNullable<CheckpointMetadata[K]> | null;
  };
  return {
    config: meta.config,
    info: {
      task: need('task')!,
      regions: need('regionDefinitions')!,
      modalities: need('modalities')!,
      patchSize: need('patchSize')!,
      normalization: need('normalization') as NormalizationParams[],
      fold: need('fold'),
      epoch: need('epoch')!,
      valDiceMean: need('valDiceMean'),
      training: need('training')!,
    },
  };
}
