/**
 * Training losses for region-based (sigmoid, multi-label) segmentation and nnU-Net's deep-supervision
 * weighting; the loss a task trains with is chosen by name in the task API (`tasks/losses.ts`).
 */
// Losses for region-based (sigmoid, multi-label) segmentation, on logits and binary targets.
export {
  batchDiceFocalLoss,
  bceWithLogits,
  type DiceFocalOptions,
  type FocalOptions,
  regionDiceBceLoss,
  sigmoidFocalLoss,
  softDice,
  type SoftDiceOptions,
} from './region-losses.js';
// Deep-supervision weights and target pyramid, as nnU-Net v1 builds them for MedNeXt.
export {
  deepSupervisionLoss,
  deepSupervisionWeights,
  downsampleTarget,
  type LossFn,
  targetPyramid,
} from './deep-supervision.js';
