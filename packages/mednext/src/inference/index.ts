/**
 * Inference (browser-safe): loading a trained checkpoint as a patch predictor, the case pipeline from raw
 * modalities to a label map, mirror TTA, ensembling, sharding of case lists, and the NIfTI images a case
 * produces. Sliding windows live in `@mednext-ts/tensor3d`; file-based prediction in
 * `@mednext-ts/mednext/node`.
 */
// Matching the files of one case to the task's modalities by their suffix (`<ID>-t1n.nii.gz`, ...).
export {
  baseName,
  LABEL_SUFFIX,
  matchCaseFiles,
  type MatchCaseFilesOptions,
  type MatchedCaseFiles,
  modalityFile,
  modalitySuffix,
  NIFTI_FILE,
} from './case-files.js';
// A trained checkpoint (safetensors, or a PyTorch / Lightning zip) loaded as a model.
export {
  checkModelsAgainstTask,
  checkpointInfo,
  type CheckpointInfo,
  type CheckpointModel,
  inferenceModelFromBytes,
  type LoadModelOptions,
  recordedNormalization,
} from './checkpoint.js';
// Ensembling at probability level.
export { averageProbabilities, ProbabilityAverager } from './ensemble.js';
// Splitting a list of cases between machines (`--shard I/N`, SLURM array jobs, Kubernetes indexed jobs).
export { parseShard, resolveShard, selectShard, type Shard, shardFromEnvironment } from './shard.js';
// Mirror test-time augmentation.
export { type MirrorTTAOptions, withMirrorTTA } from './tta.js';
// One case from raw modalities to a label map.
export {
  type CaseSegmentation,
  ensembleProbabilities,
  type InferenceOptions,
  type RawImage,
  segmentCase,
} from './pipeline.js';
// A MedNeXt network seen as a {@link PatchPredictor} returning sigmoid region probabilities.
export { type InferenceModel, mednextPredictor } from './predictor.js';
// Case pipelines a task can name (`TaskDefinition.pipeline`) to replace the project's own.
export {
  CASE_PIPELINES,
  casePipeline,
  type CasePipeline,
  labelsForTask,
  type PipelineLabels,
} from './case-pipelines.js';
// The images inference produces, as NIfTI with a case's exact geometry.
export { type ProbabilityFormat, probabilityImage, segmentationImage } from './case-images.js';
// Prediction on the WebGPU engine.
export { onWebGpu, webGpuPredictor } from './webgpu-predictor.js';
