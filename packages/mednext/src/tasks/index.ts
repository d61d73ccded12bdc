/**
 * The task plugin API (`@mednext-ts/mednext/tasks`, also re-exported by the root entry): task definitions
 * and their registry, the name -> implementation tables plugins extend (normalisations, postprocessing steps,
 * losses), evaluation presets and input file naming. Light, with no tensor code and no tfjs in its import
 * graph, so plugins and the CLI load it quickly and a plugin author needs nothing else.
 *
 * @example
 * import { defineTask, registerTask } from '@mednext-ts/mednext/tasks';
 */
// Task definitions: what a task declares (modalities, regions, labels, recipe) and their validation.
export {
  defineTask,
  type LabelDefinition,
  type PostprocessPreset,
  type RegionDefinition,
  type RegionPostprocessValues,
  type TaskDefinition,
  TaskDefinitionError,
  type TrainingRecipe,
} from './task.js';
// The task registry: registering, looking up and listing tasks by name.
export {
  parseTaskOverrides,
  type RegisteredTask,
  type TaskRegisterOptions,
  TaskRegistry,
  tasksFromModule,
} from './registry.js';
// Name -> implementation tables that plugins extend (normalisations, losses, postprocessing steps).
export { BUILT_IN, NamedRegistry, type RegisterOptions, type RegistryEntry } from './named-registry.js';
// How a task is evaluated: a BraTS preset or its own regions and lesion sizes.
export {
  EVALUATION_PRESETS,
  type LesionSizeSpec,
  PRESET_LABELS,
  type PresetEvaluation,
  type RegionEvaluation,
  type TaskEvaluation,
} from './evaluation.js';
// File naming of a task's inputs (modality suffixes, label file).
export {
  BRATS_NAMING,
  imageFileName,
  imageFilePattern,
  type InputNaming,
  labelFileName,
  labelFilePattern,
  NNUNET_NAMING,
  taskNaming,
} from './naming.js';
// Intensity normalisation per modality, by name.
export {
  type NormalizationMethod,
  normalizationParams,
  type NormalizationParams,
  normalizationProblem,
  normalizations,
  type NormalizationSpec,
  type NormalizationStats,
  registerNormalization,
  resolveNormalization,
} from './normalization.js';
// Postprocessing steps by name, applied to a region's binary mask after threshold and component size.
export {
  type PostprocessStep,
  postprocessStepParams,
  type PostprocessStepParams,
  postprocessSteps,
  type PostprocessStepSpec,
  registerPostprocessStep,
} from './postprocess-steps.js';
// Training losses by name.
export { type LossDeclaration, losses } from './losses.js';
