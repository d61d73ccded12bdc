/** What every training engine is built from (see `engines/index.ts` for the table of engines). */
import type * as tf from '@tensorflow/tfjs-core';
import type { LossFn } from '../../../losses/deep-supervision.js';
import type { MedNeXt } from '../../../model/mednext.js';
import type { TrainOptions } from '../train-options.js';

/** The network and settings an engine trains, after the weights were initialised. */
export interface EngineSetup {
  options: TrainOptions;
  /** The initialised network (the engine trains it, or a copy of its parameters, and writes back into it). */
  model: MedNeXt;
  /** The variables to update (all, or the fine-tuned layers). */
  trainable: tf.Variable[];
  deepSupervision: boolean;
  /** The training loss on tfjs tensors (validation loss; the CPU step; plugin losses on the GPU). */
  lossFn: LossFn;
  /** Input channels (modalities) and output regions of the task. */
  modalities: number;
  regions: number;
}
