/**
 * `@mednext-ts/tensor3d/volume`: 3-D volumes and the operations on them, on plain typed arrays. This entry imports
 * no tfjs (a repository test checks it), so the metrics and I/O code can use it without loading a tensor library.
 *
 * @example
 * ```ts
 * import { cropVolume, labelConnectedComponents, nonZeroBoundingBox } from '@mednext-ts/tensor3d/volume';
 *
 * const box = nonZeroBoundingBox([image]); // null when every voxel is zero
 * const cropped = box ? cropVolume(image, box) : image;
 * const { labels, count } = labelConnectedComponents(mask.data, mask.shape);
 * ```
 */
// volumes, shapes and indexing
export {
  allocateLike,
  assertShape,
  flatIndex,
  voxelCount,
  type ChannelVolume,
  type Shape3,
  type Volume,
  type VoxelArray,
} from './volume.js';
// cropping, padding and patches
export { boxShape, cropChannels, cropVolume, nonZeroBoundingBox, uncropVolume, type BoundingBox } from './crop.js';
export { padChannels, type PadResult } from './pad.js';
export { extractPatch, patchStartAround, patchStartRange } from './patch.js';
// intensity normalisation
export { zscoreNonZero, type ZScoreResult } from './normalize.js';
// sliding-window inference and its Gaussian weighting
export {
  slidingWindowInference,
  windowOrigins,
  windowStarts,
  type BlendMode,
  type PatchPredictor,
  type SlidingWindowOptions,
  type WindowPlacement,
} from './sliding-window.js';
export { gaussianImportanceMap, type GaussianOptions } from './gaussian.js';
// mirroring (test-time augmentation)
export { allMirrorCombinations, flipSpatial, type SpatialAxis } from './flip.js';
// data augmentation
export { Random, type RandomState } from './augment-random.js';
export {
  addGaussianNoise,
  adjustContrast,
  adjustGamma,
  flipChannels,
  gaussianBlur,
  gaussianKernel1d,
  rotationScaleMatrix,
  scaleShiftIntensity,
  simulateLowResolution,
  transformPatch,
} from './augment.js';
// labels and morphology (post-processing)
export {
  labelConnectedComponents,
  labelSizes,
  nonZeroIndices,
  type ComponentLabels,
  type Connectivity,
} from './connected-components.js';
export { binaryDilation, type DilationOptions } from './morphology.js';
export { distanceTransform, squaredDistanceTransform, type DistanceTransformOptions } from './distance-transform.js';
// surface distances (metrics)
export { computeSurfaceDistances, hausdorffDistance, robustHausdorff, type SurfaceDistances } from './surface.js';
