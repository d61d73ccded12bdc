/**
 * One case from raw modalities to a label map: preprocessing as in training, sliding-window
 * inference for every ensemble member (optionally with mirror TTA), probability averaging,
 * postprocessing and undoing the crop.
 */
import type { NormalizationParams } from '../tasks/normalization.js';
import {
  slidingWindowInference,
  uncropVolume,
  type BlendMode,
  type ChannelVolume,
  type Shape3,
} from '@mednext-ts/tensor3d';
import type { TaskDefinition } from '../tasks/index.js';
import { preprocessCaseArrays } from '../data/preprocess-case.js';
import { probabilitiesToLabels, type RegionPostprocess } from '../postprocess/index.js';
import { ProbabilityAverager } from './ensemble.js';
import type { InferenceModel } from './predictor.js';
import { withMirrorTTA } from './tta.js';
import { casePipeline } from './case-pipelines.js';
import { MedNeXtError } from '../errors.js';

/** Sliding-window and ensembling settings. */
export interface InferenceOptions {
  /** Window overlap, default 0.5. */
  overlap?: number;
  /** Blending, default `gaussian`. */
  blend?: BlendMode;
  /** Windows per forward pass, default 1. */
  swBatch?: number;
  /** Mirror test-time augmentation over the 8 flips. */
  tta?: boolean;
  /** Ensemble weights, one per model (default equal). */
  weights?: number[];
  /** Progress: model index, windows done, windows total for that model. */
  onProgress?: (model: number, done: number, total: number) => void;
  /** Per-model, per-region ensemble weights (pipelines that support them, e.g. `seed-paper`); overrides `weights`. */
  channelWeights?: number[][];
  /** Rewrites label values of the output map (a task's `labelMappings` entry), e.g. `{ 1: 2, 2: 4, 3: 1 }`. */
  labelMapping?: Record<number, number>;
  /** Receives warnings about a case that do not stop it (e.g. intensities a pipeline had to wrap). */
  onWarning?: (message: string) => void;
  /**
   * Normalisation per modality (in the image's modality order), as recorded in the checkpoint;
   * default the task's.
   */
  normalization?: readonly NormalizationParams[];
}

/**
 * Averaged region probabilities `[regions, ...]` of the ensemble on a preprocessed image.
 * Members may use different patch sizes; each runs its own sliding window over the same grid.
 */
export async function ensembleProbabilities(
  image: ChannelVolume,
  models: readonly InferenceModel[],
  options: InferenceOptions = {},
): Promise<ChannelVolume> {
  if (models.length === 0) throw new MedNeXtError('ENSEMBLE_INVALID', 'inference: no models given');
  if (options.weights && options.weights.length !== models.length) {
    throw new MedNeXtError(
      'ENSEMBLE_INVALID',
      `inference: ${options.weights.length} ensemble weights for ${models.length} models`,
    );
  }
  const regions = models[0]!.outChannels;
  const averager = new ProbabilityAverager();
  for (const [m, model] of models.entries()) {
    if (model.inChannels !== image.shape[0]) {
      throw new MedNeXtError(
        'MODEL_INPUT',
        `${model.name}: the model takes ${model.inChannels} input channels, the case has ${image.shape[0]}`,
      );
    }
    if (model.outChannels !== regions) {
      throw new MedNeXtError(
        'ENSEMBLE_INVALID',
        `${model.name}: predicts ${model.outChannels} regions but ${models[0]!.name} predicts ${regions}; ensemble members must agree`,
      );
    }
    const predictor = options.tta ? withMirrorTTA(model.predictor, { patchSize: model.patchSize }) : model.predictor;
    const probs = await slidingWindowInference(image, predictor, {
      patchSize: model.patchSize,
      outChannels: model.outChannels,
      overlap: options.overlap,
      blend: options.blend,
      batchSize: options.swBatch,
      onProgress: (done, total) => options.onProgress?.(m, done, total),
    });
    averager.add(probs, options.weights?.[m] ?? 1);
  }
  return averager.result();
}

/** A case as read from disk: the modalities in the task's channel order on the original grid. */
export interface RawImage {
  id: string;
  /** `[modalities, nx, ny, nz]`, C order. */
  image: ChannelVolume<Float32Array>;
  modalities: string[];
  spacing?: [number, number, number];
}

/** Result of {@link segmentCase}. */
export interface CaseSegmentation {
  /** Label map on the original grid, C order. */
  labels: Uint8Array;
  shape: Shape3;
  /** Averaged region probabilities on the original grid (0 outside the crop box), `[regions, nx, ny, nz]`. */
  probabilities: ChannelVolume;
  /** The foreground crop box that was used (original voxel indices, end exclusive). */
  cropBox: { start: Shape3; end: Shape3 };
}

/**
 * Segments one case: crop to the non-zero box of all modalities and normalise each modality as
 * the checkpoint records (exactly the training preprocessing), run the ensemble, postprocess with
 * `settings`, and paste the result back into the original grid.
 */
export async function segmentCase(
  raw: RawImage,
  task: TaskDefinition,
  models: readonly InferenceModel[],
  settings: readonly RegionPostprocess[],
  options: InferenceOptions = {},
): Promise<CaseSegmentation> {
  // A task variant that reproduces another code's conventions runs its own pipeline end to end.
  if (task.pipeline) return casePipeline(task.pipeline, task.id)(raw, task, models, settings, options);
  if (options.channelWeights || options.labelMapping) {
    throw new MedNeXtError(
      'TASK_MISMATCH',
      `task '${task.id}': per-region ensemble weights and label mappings need a task pipeline that supports them`,
    );
  }
  const [, nx, ny, nz] = raw.image.shape;
  const shape: Shape3 = [nx, ny, nz];
  const identity = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
  // The same function training uses, so crop and normalisation cannot drift apart.
  const pre = preprocessCaseArrays(
    {
      id: raw.id,
      source: 'predict',
      modalities: raw.modalities,
      image: raw.image,
      affine: identity,
      spacing: raw.spacing ?? [1, 1, 1],
      files: {},
    },
    task,
    options.normalization ? { normalization: options.normalization } : {},
  );
  const cropped = await ensembleProbabilities(pre.image, models, options);
  const labelsCropped = probabilitiesToLabels(cropped, task, settings);
  const box = pre.meta.cropBox;
  const labels = uncropVolume({ data: labelsCropped, shape: pre.meta.croppedShape }, box, shape).data;
  const regions = cropped.shape[0];
  const m = cropped.data.length / regions;
  const n = nx * ny * nz;
  const probabilities = new Float32Array(regions * n);
  for (let c = 0; c < regions; c++) {
    const channel = uncropVolume(
      { data: cropped.data.subarray(c * m, (c + 1) * m), shape: pre.meta.croppedShape },
      box,
      shape,
    );
    probabilities.set(channel.data, c * n);
  }
  return {
    labels,
    shape,
    probabilities: {
      data: probabilities,
      shape: [regions, nx, ny, nz],
      ...(raw.spacing ? { spacing: raw.spacing } : {}),
    },
    cropBox: box,
  };
}
