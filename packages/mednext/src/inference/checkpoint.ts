/**
 * A trained checkpoint (safetensors bytes) as an {@link InferenceModel}. Platform-neutral: the CLI reads
 * the bytes from disk (`loadInferenceModel` in `@mednext-ts/mednext/node`), the web app from a file the
 * user picked; both go through {@link inferenceModelFromBytes}, so they accept the same checkpoints.
 */
import type { Shape3 } from '@mednext-ts/tensor3d';
import { MedNeXt } from '../model/index.js';
import { configFromMetadata, loadStateDict, parseSafetensors } from '../weights/index.js';
import { isZip } from '../weights/pth.js';
import type { TaskDefinition } from '../tasks/index.js';
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
  /** Intensity normalisation the inputs need, when recorded (only `zscore-nonzero` exists). */
  normalization?: string;
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
    normalization: jsonField<string>(metadata, ['normalization']),
  };
}

/** Options of {@link inferenceModelFromBytes}. */
export interface LoadModelOptions {
  /** Sliding-window size; default the checkpoint's training patch size. */
  patchSize?: Shape3;
}

/** A checkpoint loaded for inference, with what its metadata says. */
export type CheckpointModel = InferenceModel & { info: CheckpointInfo };

/**
 * Builds an inference model from the bytes of a MedNeXt safetensors checkpoint: the network config comes
 * from the metadata, weights are loaded strictly (a mismatch is an error naming the tensors), and the
 * window size is the training patch size unless overridden. `source` names the checkpoint in errors.
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
  if (isZip(bytes)) {
    // A PyTorch checkpoint carries weights but not the network config, task or patch size inference needs.
    throw new Error(
      `${source}: a PyTorch checkpoint holds no MedNeXt config, task or patch size; convert it to .safetensors with that metadata first`,
    );
  }
  const parsed = parseSafetensors(bytes, source);
  const config = configFromMetadata(parsed.metadata);
  if (!config)
    throw new Error(
      `${source}: the checkpoint metadata holds no MedNeXt config (in_channels, n_channels, n_classes, ...)`,
    );
  const info = checkpointInfo(parsed.metadata);
  const patchSize = options.patchSize ?? info.patchSize;
  if (!patchSize) throw new Error(`${source}: the checkpoint does not record its patch size; pass one (--patch-size)`);
  if (patchSize.length !== 3 || patchSize.some((n) => !Number.isInteger(n) || n <= 0 || n % 16 !== 0)) {
    throw new Error(`${source}: patch size [${patchSize.join(', ')}] must be three positive multiples of 16`);
  }
  if (info.normalization !== undefined && info.normalization !== 'zscore-nonzero') {
    throw new Error(
      `${source}: inputs must be normalised with '${info.normalization}', which inference does not implement (only zscore-nonzero)`,
    );
  }
  const model = MedNeXt.create(config, { seed: 0 });
  loadStateDict(model, parsed.tensors, { source });
  return {
    name: source,
    predictor: mednextPredictor(model, patchSize),
    patchSize,
    inChannels: model.resolved.inChannels,
    outChannels: model.resolved.nClasses,
    dispose: () => model.dispose(),
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
      throw new Error(
        `${m.name} predicts ${m.outChannels} regions; task '${task.id}' has ${regions.length} (${regions.join(', ')})`,
      );
    }
    if (m.info.regions && m.info.regions.join(',') !== regions.join(',')) {
      throw new Error(
        `${m.name} predicts regions ${m.info.regions.join(', ')}; task '${task.id}' expects ${regions.join(', ')} in that order`,
      );
    }
    const mine = m.info.modalities;
    if (mine && modalities && mine.join(',') !== modalities.join(',')) {
      throw new Error(
        `${m.name} takes modalities ${mine.join(', ')} but ${models[0]!.name} takes ${modalities.join(', ')}`,
      );
    }
    if (mine && mine.length !== m.inChannels)
      throw new Error(`${m.name}: ${mine.length} modalities recorded for a ${m.inChannels}-channel network`);
  }
}
