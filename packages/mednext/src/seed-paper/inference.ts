/**
 * The seed paper's `InferenceModule` forward pass: MONAI 1.1 sliding window with sigmoid per
 * window, optional test-time augmentation by flipping the *whole* volume over the 8 axis
 * combinations (the window grid is mirrored with it, unlike nnU-Net's per-window mirroring), and
 * the per-channel weighted ensemble of `validation-phase-get-predictions.py`.
 */
import {
  flipSpatial,
  slidingWindowInference,
  type BlendMode,
  type ChannelVolume,
  type SpatialAxis,
} from '@mednext-ts/tensor3d';
import type { InferenceModel } from '../inference/predictor.js';
import { monaiGaussianImportanceMap, monaiWindowStarts } from './monai-window.js';
import { MedNeXtError } from '../errors.js';

/** Settings of {@link seedModelProbabilities}. */
export interface SeedInferenceOptions {
  /** Window overlap (the seed's submission script: 0.5). */
  overlap: number;
  /** `gaussian` (submission script) or `constant` (the module's default, used for the CV predictions). */
  blend: BlendMode;
  /** Whole-volume flip TTA over the 8 combinations (submission script: on). */
  tta: boolean;
  /** Windows per forward pass (does not change results). */
  swBatch?: number;
  /** Progress of the window passes: done, total (all TTA passes together). */
  onProgress?: (done: number, total: number) => void;
}

/** The flip sets of `InferenceModule.forward` after the unflipped pass, as spatial axes. */
export const SEED_TTA_FLIPS: readonly SpatialAxis[][] = [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]];

/**
 * Probabilities `[regions, I, J, K]` of one model on a preprocessed (cropped) image, as the seed's
 * `InferenceModule` computes them with `apply_sigmoid = False` (the sigmoid is inside the model).
 */
export async function seedModelProbabilities(
  image: ChannelVolume,
  model: InferenceModel,
  options: SeedInferenceOptions,
): Promise<ChannelVolume> {
  const [, nx, ny, nz] = image.shape;
  const spatial: [number, number, number] = [nx, ny, nz];
  const importanceMap = options.blend === 'gaussian' ? monaiGaussianImportanceMap(model.patchSize) : undefined;
  const flips: SpatialAxis[][] = options.tta ? [[], ...SEED_TTA_FLIPS] : [[]];
  const run = async (volume: ChannelVolume, pass: number): Promise<ChannelVolume> =>
    slidingWindowInference(volume, model.predictor, {
      patchSize: model.patchSize,
      outChannels: model.outChannels,
      overlap: options.overlap,
      blend: options.blend,
      importanceMap,
      placement: monaiWindowStarts,
      batchSize: options.swBatch,
      onProgress: (done, total) => {
        options.onProgress?.(pass * total + done, flips.length * total);
      },
    });
  const sum = new Float64Array(model.outChannels * nx * ny * nz);
  for (const [pass, axes] of flips.entries()) {
    const input = axes.length ? { ...image, data: flipSpatial(image.data as Float32Array, spatial, axes) } : image;
    const probs = await run(input, pass);
    const back = axes.length ? flipSpatial(probs.data as Float32Array, spatial, axes) : probs.data;
    for (let i = 0; i < sum.length; i++) sum[i]! += back[i]!;
  }
  const out = new Float32Array(sum.length);
  for (let i = 0; i < out.length; i++) out[i] = sum[i]! / flips.length;
  return { data: out, shape: [model.outChannels, nx, ny, nz] };
}

/**
 * Per-channel weighted mean over models: channel c is `sum_m w[m][c] P_m[c] / sum_m w[m][c]`
 * (`update_npy` + `postprocess_npy` of the seed's prediction script).
 * @throws when a channel's weights sum to 0 (the seed code would divide by zero)
 */
export function seedWeightedEnsemble(
  maps: readonly ChannelVolume[],
  weights: readonly (readonly number[])[],
): ChannelVolume {
  if (maps.length === 0) throw new MedNeXtError('ENSEMBLE_INVALID', 'seed ensemble: no probability maps');
  if (weights.length !== maps.length)
    throw new MedNeXtError(
      'ENSEMBLE_INVALID',
      `seed ensemble: ${weights.length} weight vectors for ${maps.length} models`,
    );
  const [channels, nx, ny, nz] = maps[0]!.shape;
  const n = nx * ny * nz;
  const out = new Float32Array(channels * n);
  for (let c = 0; c < channels; c++) {
    let total = 0;
    for (const w of weights) {
      if (w.length !== channels)
        throw new MedNeXtError(
          'ENSEMBLE_INVALID',
          `seed ensemble: weight vector [${w.join(', ')}] for ${channels} channels`,
        );
      total += w[c]!;
    }
    if (!(total > 0))
      throw new MedNeXtError(
        'ENSEMBLE_INVALID',
        `seed ensemble: the weights of channel ${c} sum to ${total}; need a positive sum`,
      );
    const acc = new Float64Array(n);
    for (const [m, map] of maps.entries()) {
      const w = weights[m]![c]!;
      if (w === 0) continue;
      const src = map.data.subarray(c * n, (c + 1) * n);
      for (let i = 0; i < n; i++) acc[i]! += w * src[i]!;
    }
    for (let i = 0; i < n; i++) out[c * n + i] = acc[i]! / total;
  }
  return { data: out, shape: [channels, nx, ny, nz] };
}
