/**
 * The training augmentation pipeline: which transforms run, with what probability and range.
 *
 * Defaults follow nnU-Net's (v1) default data augmentation, plus the random intensity scaling and
 * shifting of the seed paper (MONAI-style, factor and offset ±0.1). Every draw comes from the
 * {@link Random} passed in, so training is reproducible from its seed.
 */
import {
  Random,
  addGaussianNoise,
  adjustContrast,
  adjustGamma,
  flipChannels,
  gaussianBlur,
  rotationScaleMatrix,
  scaleShiftIntensity,
  simulateLowResolution,
  type ChannelVolume,
} from '@mednext-ts/tensor3d';

/** A transform applied with probability `p`, with a value drawn uniformly from `range`. */
export interface RandomRange {
  p: number;
  range: [number, number];
}

/** Settings of every transform. Set a probability to 0 to switch a transform off. */
export interface AugmentationConfig {
  /** Rotation about each axis, degrees (applied per sample with probability p). */
  rotation: RandomRange;
  /** Zoom of the sampling grid (< 1 magnifies). */
  scaling: RandomRange;
  /** Gaussian noise; range is the variance. */
  noise: RandomRange;
  /** Gaussian blur, sigma in voxels; `perChannel` is the probability for each channel once chosen. */
  blur: RandomRange & { perChannel: number };
  /** Multiplicative brightness, the same factor for all channels. */
  brightness: RandomRange;
  /** Contrast factor. */
  contrast: RandomRange;
  /** Low-resolution simulation: zoom factor; `perChannel` as for blur. */
  lowResolution: RandomRange & { perChannel: number };
  /** Gamma on the inverted image (retain stats). */
  gammaInverted: RandomRange;
  /** Gamma (retain stats). */
  gamma: RandomRange;
  /** Probability of mirroring along each axis. */
  mirror: number;
  /** Per-channel intensity scaling `v·(1 + f)`, f drawn from range (seed paper: ±0.1, always). */
  intensityScale: RandomRange;
  /** Per-channel intensity shift `v + o`, o drawn from range (seed paper: ±0.1, always). */
  intensityShift: RandomRange;
}

/** nnU-Net's default augmentation plus the seed paper's intensity scale/shift. */
export const DEFAULT_AUGMENTATION: AugmentationConfig = Object.freeze({
  rotation: { p: 0.2, range: [-30, 30] },
  scaling: { p: 0.2, range: [0.7, 1.4] },
  noise: { p: 0.1, range: [0, 0.1] },
  blur: { p: 0.2, range: [0.5, 1], perChannel: 0.5 },
  brightness: { p: 0.15, range: [0.75, 1.25] },
  contrast: { p: 0.15, range: [0.75, 1.25] },
  lowResolution: { p: 0.25, range: [0.5, 1], perChannel: 0.5 },
  gammaInverted: { p: 0.1, range: [0.7, 1.5] },
  gamma: { p: 0.3, range: [0.7, 1.5] },
  mirror: 0.5,
  intensityScale: { p: 1, range: [-0.1, 0.1] },
  intensityShift: { p: 1, range: [-0.1, 0.1] },
}) as AugmentationConfig;

/** The seed paper's augmentation only: flips and intensity scaling/shifting. */
export const PAPER_AUGMENTATION: AugmentationConfig = {
  ...DEFAULT_AUGMENTATION,
  rotation: { p: 0, range: [0, 0] },
  scaling: { p: 0, range: [1, 1] },
  noise: { p: 0, range: [0, 0] },
  blur: { p: 0, range: [0.5, 1], perChannel: 0 },
  brightness: { p: 0, range: [1, 1] },
  contrast: { p: 0, range: [1, 1] },
  lowResolution: { p: 0, range: [1, 1], perChannel: 0 },
  gammaInverted: { p: 0, range: [1, 1] },
  gamma: { p: 0, range: [1, 1] },
};

/** No augmentation at all (validation, tests). */
export const NO_AUGMENTATION: AugmentationConfig = {
  ...PAPER_AUGMENTATION,
  mirror: 0,
  intensityScale: { p: 0, range: [0, 0] },
  intensityShift: { p: 0, range: [0, 0] },
};

/** Named presets for the command line. */
export const AUGMENTATION_PRESETS = { default: DEFAULT_AUGMENTATION, paper: PAPER_AUGMENTATION, none: NO_AUGMENTATION };

const draw = (rng: Random, r: RandomRange) => rng.uniform(r.range[0], r.range[1]);

/**
 * Spatial part, decided before the patch is cut: the sampling matrix for
 * {@link transformPatch}, or `null` when neither rotation nor scaling was drawn (a plain crop).
 */
export function drawSpatialTransform(rng: Random, config: AugmentationConfig): number[] | null {
  const rotate = rng.chance(config.rotation.p);
  const scale = rng.chance(config.scaling.p);
  if (!rotate && !scale) return null;
  const deg = Math.PI / 180;
  const angles: [number, number, number] = rotate
    ? [draw(rng, config.rotation) * deg, draw(rng, config.rotation) * deg, draw(rng, config.rotation) * deg]
    : [0, 0, 0];
  return rotationScaleMatrix(angles, scale ? draw(rng, config.scaling) : 1);
}

/**
 * Intensity and mirror part, applied to a cut patch: image `[C, ...]` float32 and target
 * `[R, ...]` uint8 (flipped together). Returns the new pair (the image is modified in place
 * where possible).
 */
export function augmentPatch(
  image: ChannelVolume<Float32Array>,
  target: ChannelVolume<Uint8Array>,
  rng: Random,
  config: AugmentationConfig,
): { image: ChannelVolume<Float32Array>; target: ChannelVolume<Uint8Array> } {
  const channels = image.shape[0];
  if (rng.chance(config.noise.p)) {
    const std = Math.sqrt(draw(rng, config.noise));
    for (let c = 0; c < channels; c++) addGaussianNoise(image, c, std, rng);
  }
  if (rng.chance(config.blur.p)) {
    for (let c = 0; c < channels; c++) {
      if (!rng.chance(config.blur.perChannel)) continue;
      const s = draw(rng, config.blur);
      gaussianBlur(image, c, [s, s, s]);
    }
  }
  if (rng.chance(config.brightness.p)) {
    const f = draw(rng, config.brightness);
    for (let c = 0; c < channels; c++) scaleShiftIntensity(image, c, f, 0);
  }
  if (rng.chance(config.contrast.p)) {
    const f = draw(rng, config.contrast);
    for (let c = 0; c < channels; c++) adjustContrast(image, c, f);
  }
  if (rng.chance(config.lowResolution.p)) {
    for (let c = 0; c < channels; c++) {
      if (!rng.chance(config.lowResolution.perChannel)) continue;
      simulateLowResolution(image, c, draw(rng, config.lowResolution));
    }
  }
  if (rng.chance(config.gammaInverted.p)) {
    const g = draw(rng, config.gammaInverted);
    for (let c = 0; c < channels; c++) adjustGamma(image, c, g, { invert: true, retainStats: true });
  }
  if (rng.chance(config.gamma.p)) {
    const g = draw(rng, config.gamma);
    for (let c = 0; c < channels; c++) adjustGamma(image, c, g, { retainStats: true });
  }
  for (let c = 0; c < channels; c++) {
    const scale = rng.chance(config.intensityScale.p) ? 1 + draw(rng, config.intensityScale) : 1;
    const shift = rng.chance(config.intensityShift.p) ? draw(rng, config.intensityShift) : 0;
    if (scale !== 1 || shift !== 0) scaleShiftIntensity(image, c, scale, shift);
  }
  const axes: [boolean, boolean, boolean] = [
    rng.chance(config.mirror),
    rng.chance(config.mirror),
    rng.chance(config.mirror),
  ];
  if (axes.some(Boolean)) return { image: flipChannels(image, axes), target: flipChannels(target, axes) };
  return { image, target };
}
