/**
 * A trained checkpoint (our safetensors, or a PyTorch / Lightning zip checkpoint whose architecture is
 * inferred from its tensors) as an {@link InferenceModel}. Platform-neutral: the CLI reads
 * the bytes from disk (`loadInferenceModel` in `@mednext-ts/mednext/node`), the web app from a file the
 * user picked; both go through {@link inferenceModelFromBytes}, so they accept the same checkpoints.
 */
import type { Shape3 } from '@mednext-ts/tensor3d';
import { MedNeXt } from '../model/index.js';
import { decodeCheckpoint } from '../checkpoint/codec.js';
import { decodeCheckpointMetadata, type CheckpointMetadata } from '../checkpoint/metadata.js';
import { MedNeXtError } from '../errors.js';
import { loadStateDict, networkWeights, type InferredConfig } from '../weights/index.js';
import type { InflateRaw } from '../weights/zip.js';
import type { TaskDefinition } from '../tasks/index.js';
import { normalizationProblem, type NormalizationParams, type NormalizationSpec } from '../tasks/normalization.js';
import { normalizationFromRecord } from '../data/normalization.js';
import { mednextPredictor, type InferenceModel } from './predictor.js';

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
  /** Where the file came from and how it was converted (`mednext model import` records an object). */
  source?: string | Record<string, unknown>;
}

/**
 * The training facts of a checkpoint's metadata map, as inference uses them: {@link decodeCheckpointMetadata}
 * (snake_case or camelCase keys, any format version up to the current one). `source` names the file in errors.
 *
 * @throws MedNeXtError `CHECKPOINT_VERSION` for a file written by a newer mednext-ts.
 */
export function checkpointInfo(metadata: Record<string, string>, source = 'checkpoint'): CheckpointInfo {
  return infoOf(decodeCheckpointMetadata(metadata, source));
}

function infoOf(meta: CheckpointMetadata): CheckpointInfo {
  return {
    task: meta.task,
    patchSize: meta.patchSize,
    modalities: meta.modalities,
    regions: meta.regions,
    normalization: meta.normalization,
    source: meta.source as CheckpointInfo['source'],
  };
}

/** Options of {@link inferenceModelFromBytes}. */
export interface LoadModelOptions {
  /** Sliding-window size; default the checkpoint's training patch size. */
  patchSize?: Shape3;
  /** Window size for checkpoints that record none (e.g. a task variant's default); `patchSize` wins. */
  defaultPatchSize?: Shape3;
  /** Raw-deflate decoder for compressed entries of PyTorch zip checkpoints (Node passes zlib's). */
  inflateRaw?: InflateRaw;
}

/** A checkpoint loaded for inference, with what its metadata says. */
export type CheckpointModel = InferenceModel & { info: CheckpointInfo };

/**
 * Builds an inference model from the bytes of a checkpoint: the network config comes from our
 * safetensors metadata, or is inferred from the tensors of a PyTorch / Lightning checkpoint (`.ckpt`,
 * `.pth`; read without executing anything); weights are loaded strictly (a mismatch is an error naming
 * the tensors), and the window size is the training patch size unless overridden. `source` names the
 * checkpoint in errors.
 *
 * @example
 * const model = inferenceModelFromBytes(new Uint8Array(await file.arrayBuffer()), file.name);
 * const { labels } = await segmentCase(raw, task, [model], resolvePostprocess(task));
 */
export function inferenceModelFromBytes(
  bytes: Uint8Array,
  source: string,
  options: LoadModelOptions = {},
): CheckpointModel {
  const { weights, metadata } = decodeCheckpoint(bytes, source, options.inflateRaw);
  const network = networkWeights(weights, source);
  const info: CheckpointInfo = {
    ...infoOf(metadata),
    ...(network.inferred ? { inferred: network.inferred } : {}),
  };
  const patchSize = options.patchSize ?? info.patchSize ?? options.defaultPatchSize;
  if (!patchSize)
    throw new MedNeXtError(
      'CHECKPOINT_INVALID',
      `${source}: the checkpoint does not record its patch size; pass one (--patch-size)`,
      { file: source },
    );
  if (patchSize.length !== 3 || patchSize.some((n) => !Number.isInteger(n) || n <= 0 || n % 16 !== 0)) {
    throw new MedNeXtError(
      'CHECKPOINT_INVALID',
      `${source}: patch size [${patchSize.join(', ')}] must be three positive multiples of 16`,
      { file: source },
    );
  }
  // Every recorded method must be one this process knows (a plugin's method needs its plugin loaded).
  const recorded = typeof info.normalization === 'string' ? [info.normalization] : (info.normalization ?? []);
  for (const spec of recorded) {
    const problem = normalizationProblem(spec);
    if (problem)
      throw new MedNeXtError(
        'CHECKPOINT_INVALID',
        `${source}: the recorded input normalisation cannot be repeated: ${problem}`,
        { file: source },
      );
  }
  const model = MedNeXt.create(network.config, { seed: 0 });
  try {
    loadStateDict(model, network.tensors, { source });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return {
    name: source,
    predictor: mednextPredictor(model, patchSize),
    patchSize,
    inChannels: model.resolved.inChannels,
    outChannels: model.resolved.nClasses,
    dispose: () => model.dispose(),
    network: model,
    info,
  };
}

/**
 * Every model must predict the task's regions in the task's order, and all models must take the
 * same modalities in the same order (the first model's order is used to load the cases).
 */
export function checkModelsAgainstTask(models: readonly CheckpointModel[], task: TaskDefinition): void {
  const regions = task.regions.map((r) => r.name);
  const modalities = models[0]?.info.modalities;
  for (const m of models) {
    if (m.outChannels !== regions.length) {
      throw new MedNeXtError(
        'TASK_MISMATCH',
        `${m.name} predicts ${m.outChannels} regions; task '${task.id}' has ${regions.length} (${regions.join(', ')})`,
      );
    }
    if (m.info.regions && m.info.regions.join(',') !== regions.join(',')) {
      throw new MedNeXtError(
        'TASK_MISMATCH',
        `${m.name} predicts regions ${m.info.regions.join(', ')}; task '${task.id}' expects ${regions.join(', ')} in that order`,
      );
    }
    const mine = m.info.modalities;
    if (mine && modalities && mine.join(',') !== modalities.join(',')) {
      throw new MedNeXtError(
        'ENSEMBLE_INVALID',
        `${m.name} takes modalities ${mine.join(', ')} but ${models[0]!.name} takes ${modalities.join(', ')}`,
      );
    }
    if (mine && mine.length !== m.inChannels)
      throw new MedNeXtError(
        'CHECKPOINT_INVALID',
        `${m.name}: ${mine.length} modalities recorded for a ${m.inChannels}-channel network`,
      );
  }
}

/**
 * The input normalisation (one method per modality, in `modalities` order) the checkpoints record, i.e.
 * what their training did; ensemble members must agree, because one preprocessing feeds them all.
 * Used by `mednext predict` and the web app, so both repeat training's normalisation, not the task's today.
 */
export function recordedNormalization(
  models: readonly CheckpointModel[],
  modalities: readonly string[],
): NormalizationParams[] {
  const [first, ...rest] = models.map((m) => ({
    name: m.name,
    methods: normalizationFromRecord(m.info.normalization, modalities, m.name),
  }));
  if (!first) throw new MedNeXtError('ENSEMBLE_INVALID', 'no model given');
  for (const other of rest) {
    if (JSON.stringify(other.methods) !== JSON.stringify(first.methods))
      throw new MedNeXtError(
        'ENSEMBLE_INVALID',
        `${other.name} normalises its inputs with ${JSON.stringify(other.methods)}, ${first.name} with ${JSON.stringify(first.methods)}; ensemble members must agree`,
      );
  }
  return first.methods;
}
