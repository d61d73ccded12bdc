/**
 * One case through the seed paper's code path (`preprocessing.py` ->
 * `validation-phase-get-predictions.py` -> `validation-phase-postprocessing.py`): its
 * preprocessing, `InferenceModule`, weighted ensemble, postprocessing and un-cropping.
 */
import { uncropVolume, type ChannelVolume, type Shape3 } from '@mednext-ts/tensor3d';
import type { TaskDefinition } from '../tasks/index.js';
import type { RegionPostprocess } from '../postprocess/index.js';
import type { InferenceModel } from '../inference/predictor.js';
import type { CaseSegmentation, InferenceOptions, RawImage } from '../inference/pipeline.js';
import { seedPreprocess } from './preprocess.js';
import { seedModelProbabilities, seedWeightedEnsemble } from './inference.js';
import { seedPostprocess, type SeedPostprocessSettings, type SeedRegionSettings } from './postprocess.js';
import { MedNeXtError } from '../errors.js';

/** Turns resolved per-region settings into the seed filter's settings (regions TC, WT and ET must exist). */
export function seedSettingsFrom(settings: readonly RegionPostprocess[]): SeedPostprocessSettings {
  const get = (name: 'TC' | 'WT' | 'ET'): SeedRegionSettings => {
    const s = settings.find((r) => r.name === name);
    if (!s) throw new MedNeXtError('POSTPROCESS_CONFIG', `seed postprocessing needs settings for region ${name}`);
    return {
      threshold: s.threshold,
      minSize: s.minSize,
      minMeanProbability: s.minMeanProbability ?? 0,
      maxComponents: s.maxComponents ?? Number.POSITIVE_INFINITY,
    };
  };
  return { TC: get('TC'), WT: get('WT'), ET: get('ET') };
}

/**
 * Probabilities on the cropped grid from every model, combined with the per-channel weights
 * (`options.channelWeights`, else `options.weights` per model, else equal).
 */
export async function seedEnsembleProbabilities(
  image: ChannelVolume,
  models: readonly InferenceModel[],
  options: InferenceOptions,
): Promise<ChannelVolume> {
  if (models.length === 0) throw new MedNeXtError('ENSEMBLE_INVALID', 'inference: no models given');
  const maps: ChannelVolume[] = [];
  for (const [m, model] of models.entries()) {
    if (model.inChannels !== image.shape[0]) {
      throw new MedNeXtError(
        'MODEL_INPUT',
        `${model.name}: the model takes ${model.inChannels} input channels, the case has ${image.shape[0]}`,
      );
    }
    if (model.outChannels !== models[0]!.outChannels) {
      throw new MedNeXtError(
        'ENSEMBLE_INVALID',
        `${model.name}: predicts ${model.outChannels} regions but ${models[0]!.name} predicts ${models[0]!.outChannels}`,
      );
    }
    maps.push(
      await seedModelProbabilities(image, model, {
        overlap: options.overlap ?? 0.5,
        blend: options.blend ?? 'gaussian',
        tta: options.tta ?? false,
        swBatch: options.swBatch,
        onProgress: (done, total) => options.onProgress?.(m, done, total),
      }),
    );
  }
  const channels = models[0]!.outChannels;
  const weights = models.map(
    (_, m) => options.channelWeights?.[m] ?? new Array<number>(channels).fill(options.weights?.[m] ?? 1),
  );
  return models.length === 1 && weights[0]!.every((w) => w > 0) ? maps[0]! : seedWeightedEnsemble(maps, weights);
}

/**
 * The seed postprocessing of averaged probabilities (any grid: zero probability outside the crop box
 * changes nothing, as thresholds are positive), painted and optionally relabelled.
 */
export function seedLabelsFromProbabilities(
  probabilities: ChannelVolume,
  task: TaskDefinition,
  settings: readonly RegionPostprocess[],
  labelMapping?: Record<number, number>,
): Uint8Array {
  const { labels } = seedPostprocess(
    probabilities,
    task.regions.map((r) => r.name),
    seedSettingsFrom(settings),
  );
  if (labelMapping)
    for (let i = 0; i < labels.length; i++) if (labels[i]) labels[i] = labelMapping[labels[i]!] ?? labels[i]!;
  return labels;
}

/**
 * Segments one case exactly as the seed code does. `raw.image` holds the modalities in the task's
 * order (`t2f, t1n, t1c, t2w` for the released models) with intensities as read from the files.
 * Labels are painted WT -> 2, TC -> 1, ET -> 3, optionally rewritten by `options.labelMapping`,
 * and pasted into a zero volume of the input's size.
 */
export async function segmentCaseSeedPaper(
  raw: RawImage,
  task: TaskDefinition,
  models: readonly InferenceModel[],
  settings: readonly RegionPostprocess[],
  options: InferenceOptions = {},
): Promise<CaseSegmentation> {
  // The team's preprocessing asserts 1 mm voxels and never resamples; refuse rather than silently differ.
  if (raw.spacing && raw.spacing.some((s) => Math.abs(s - 1) > 1e-6)) {
    throw new MedNeXtError(
      'INPUT_INVALID',
      `${raw.id}: voxel spacing ${raw.spacing.join(' x ')} mm; the seed paper's code requires 1 mm voxels (it asserts pixdim 1.0 and does not resample), resample the case first`,
    );
  }
  const pre = seedPreprocess(raw.image, raw.id);
  if (pre.outOfRange > 0) {
    options.onWarning?.(
      `${raw.id}: ${pre.outOfRange} voxel(s) outside the int16 range were wrapped by the seed code's int16 cast, as its NumPy cast does on x86`,
    );
  }
  const cropped = await seedEnsembleProbabilities(pre.image, models, options);
  const painted = seedLabelsFromProbabilities(cropped, task, settings, options.labelMapping);
  const shape: Shape3 = pre.originalShape;
  const labels = uncropVolume({ data: painted, shape: pre.croppedShape }, pre.box, shape).data;
  const channels = cropped.shape[0];
  const n = shape[0] * shape[1] * shape[2];
  const m = pre.croppedShape[0] * pre.croppedShape[1] * pre.croppedShape[2];
  const probabilities = new Float32Array(channels * n);
  for (let c = 0; c < channels; c++) {
    const ch = uncropVolume(
      { data: cropped.data.subarray(c * m, (c + 1) * m) as Float32Array, shape: pre.croppedShape },
      pre.box,
      shape,
    );
    probabilities.set(ch.data, c * n);
  }
  return {
    labels,
    shape,
    probabilities: {
      data: probabilities,
      shape: [channels, ...shape],
      ...(raw.spacing ? { spacing: raw.spacing } : {}),
    },
    cropBox: pre.box,
  };
}
