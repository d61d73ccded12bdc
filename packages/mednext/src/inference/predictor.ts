/**
 * A MedNeXt network seen as a {@link PatchPredictor} returning sigmoid region probabilities.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PatchPredictor, Shape3 } from '@mednext-ts/tensor3d';
import { toNcdhw, toNdhwc, type MedNeXt } from '../model/index.js';

/** A model ready for sliding-window inference. */
export interface InferenceModel {
  /** Name for progress and error messages (e.g. the checkpoint file). */
  name: string;
  predictor: PatchPredictor;
  /** Window size the model runs on (each axis a multiple of 16 for MedNeXt). */
  patchSize: Shape3;
  inChannels: number;
  /** Region channels it predicts. */
  outChannels: number;
  /** Frees the model's memory. */
  dispose?: () => void;
  /** The network itself, for engines that run it elsewhere (e.g. {@link onWebGpu}). */
  network?: MedNeXt;
}

/**
 * Wraps a network: windows `[count, in, px, py, pz]` → sigmoid probabilities
 * `[count, regions, px, py, pz]` of the main (full-resolution) output. Deep-supervision heads
 * are not evaluated. Every intermediate tensor is freed before returning.
 */
export function mednextPredictor(model: MedNeXt, patchSize: Shape3): PatchPredictor {
  const inChannels = model.resolved.inChannels;
  return async (patches, count) => {
    const probs = tf.tidy(() => {
      const x = tf.tensor5d(patches, [count, inChannels, ...patchSize]);
      const [logits] = model.forward(toNdhwc(x), { deepSupervision: false, training: false });
      return toNcdhw(tf.sigmoid(logits!) as tf.Tensor5D);
    });
    try {
      return (await probs.data()) as Float32Array;
    } finally {
      probs.dispose();
    }
  };
}
