/**
 * @mednext-ts/optim-schedulefree: Schedule-Free AdamW and SGD (facebookresearch/schedule_free
 * 1.4.1) as TensorFlow.js optimizers.
 */
export { AdamWScheduleFree } from './adamw-schedulefree.js';
export { SGDScheduleFree } from './sgd-schedulefree.js';
export {
  ScheduleFreeOptimizer,
  GROUP_WEIGHT_NAME,
  type NamedTensor,
  type GradientList,
  type ScheduleFreeMode,
  type SlotMap,
} from './schedule-free-optimizer.js';
export {
  ADAMW_DEFAULTS,
  SGD_DEFAULTS,
  type AdamWScheduleFreeOptions,
  type AdamWScheduleFreeConfig,
  type SGDScheduleFreeOptions,
  type SGDScheduleFreeConfig,
} from './options.js';
export {
  advanceSchedule,
  adamwStepCoefficients,
  sgdStepCoefficients,
  lerpForm,
  toTrainWeight,
  toEvalWeight,
  initialGroupScalars,
  type GroupScalars,
  type ScheduleHyperparameters,
  type StepScalars,
  type AdamWStepCoefficients,
  type SGDStepCoefficients,
  type LerpForm,
} from './schedule.js';
export { STATE_FORMAT, STATE_VERSION, type ScheduleFreeStateJSON, type ParameterStateJSON } from './state.js';
export { lerp } from './lerp.js';
export { float64ToInt32Words, int32WordsToFloat64 } from './float64-codec.js';
