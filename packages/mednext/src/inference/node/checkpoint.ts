/**
 * Loading a trained checkpoint as an {@link InferenceModel}: our safetensors (config and training
 * facts in the metadata) or a PyTorch / Lightning checkpoint (architecture inferred from the tensors).
 */
import { readFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { MedNeXt } from '../../model/index.js';
import { loadStateDict, networkWeights, parseWeights, type InferredConfig } from '../../weights/index.js';
import type { Shape3 } from '@mednext-ts/tensor3d';
import { mednextPredictor, type InferenceModel } from '../predictor.js';
import { normalizationProblem, type NormalizationSpec } from '../../tasks/normalization.js';

/** What a checkpoint says about how it was trained, besides the network config. */
export interface CheckpointInfo {
  /** Task id the model was trained for, when recorded. */
  task?: string;
  /** Training patch size, used as the sliding window. */
  patchSize?: Shape3;
  /** Input modalities in channel order, when recorded. */
  modalities?: string[];
  /** Region (output channel) names, when recorded. */
  regions?: string[];
  /**
   * Intensity normalisation of each input channel as recorded: one method per modality (objects
   * with `method` and parameters), or the string `zscore-nonzero` in older checkpoints.
   */
  normalization?: string | NormalizationSpec[];
  /** Set for a checkpoint without our metadata (PyTorch / Lightning): how its architecture was inferred. */
  inferred?: InferredConfig;
  /** Where the file came from and how it was converted (`mednext model import` records it). */
  source?: string;
}

function jsonField<T>(metadata: Record<string, string>, keys: readonly string[]): T | undefined {
  for (const key of keys) {
    const raw = metadata[key];
    if (raw === undefined) continue;
    try {
      return JSON.parse(raw) as T;
    } catch {
      return raw as unknown as T;
    }
  }
  return undefined;
}

/** Reads the training facts stored in a checkpoint's metadata (snake_case or camelCase keys). */
export function checkpointInfo(metadata: Record<string, string>): CheckpointInfo {
  return {
    task: jsonField<string>(metadata, ['task', 'task_id']),
    patchSize: jsonField<Shape3>(metadata, ['patch_size', 'patchSize']),
    modalities: jsonField<string[]>(metadata, ['modalities']),
    regions: jsonField<string[]>(metadata, ['regions']),
    normalization: jsonField<string | NormalizationSpec[]>(metadata, ['normalization']),
    source: jsonField<string>(metadata, ['source']),
  };
}

/** Options of {@link loadInferenceModel}. */
export interface LoadModelOptions {
  /** Sliding-window size; default the checkpoint's training patch size. */
  patchSize?: Shape3;
  /** Window size for checkpoints that record none (e.g. a task variant's default); `patchSize` wins. */
  defaultPatchSize?: Shape3;
}

/**
 * Loads a MedNeXt checkpoint for inference: the network config comes from the safetensors
 * metadata, or is inferred from the tensors of a PyTorch / Lightning checkpoint (`.ckpt`, `.pth`;
 * read without executing anything); weights are loaded strictly (a mismatch is an error naming
 * the tensors), and the window size is the training patch size unless overridden.
 */
export async function loadInferenceModel(
  file: string,
  options: LoadModelOptions = {},
): Promise<InferenceModel & { info: CheckpointInfo }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new Error(
      `${file}: cannot read checkpoint (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
  const parsed = parseWeights(bytes, file, (d) => new Uint8Array(inflateRawSync(d)));
  const network = networkWeights(parsed, file);
  const info: CheckpointInfo = {
    ...checkpointInfo(parsed.metadata),
    ...(network.inferred ? { inferred: network.inferred } : {}),
  };
  const config = network.config;
  const patchSize = options.patchSize ?? info.patchSize ?? options.defaultPatchSize;
  if (!patchSize) throw new Error(`${file}: the checkpoint does not record its patch size; pass one (--patch-size)`);
  if (patchSize.length !== 3 || patchSize.some((n) => !Number.isInteger(n) || n <= 0 || n % 16 !== 0)) {
    throw new Error(`${file}: patch size [${patchSize.join(', ')}] must be three positive multiples of 16`);
  }
  // Every recorded method must be one this process knows (a plugin's method needs its plugin loaded).
  const recorded = typeof info.normalization === 'string' ? [info.normalization] : (info.normalization ?? []);
  for (const spec of recorded) {
    const problem = normalizationProblem(spec);
    if (problem) throw new Error(`${file}: the recorded input normalisation cannot be repeated: ${problem}`);
  }
  const model = MedNeXt.create(config, { seed: 0 });
  try {
    loadStateDict(model, network.tensors, { source: file });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return {
    name: file,
    predictor: mednextPredictor(model, patchSize),
    patchSize,
    inChannels: model.resolved.inChannels,
    outChannels: model.resolved.nClasses,
    dispose: () => model.dispose(),
    info,
  };
}
