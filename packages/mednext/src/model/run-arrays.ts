/**
 * Forward pass on plain arrays at the NCDHW boundary (files, other runtimes), so callers need no tfjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ForwardOptions, MedNeXt } from './mednext.js';
import { toNcdhw, toNdhwc } from './mednext.js';
import { MedNeXtError } from '../errors.js';

/** A dense float32 array with its shape (C order). */
export interface ShapedArray {
  shape: number[];
  data: Float32Array;
}

/**
 * Runs the network on an NCDHW float32 array and returns the logits as NCDHW arrays:
 * `[main]` or, with deep supervision, `[main, ds1, ds2, ds3, ds4]`.
 * @throws when the input is not 5-D (and whatever {@link MedNeXt.forward} rejects)
 */
export async function forwardNcdhw(
  model: MedNeXt,
  input: ShapedArray,
  options: ForwardOptions = {},
): Promise<ShapedArray[]> {
  if (input.shape.length !== 5) {
    throw new MedNeXtError(
      'MODEL_INPUT',
      `forwardNcdhw: expected a 5-D NCDHW array, got shape (${input.shape.join(', ')})`,
    );
  }
  if (input.shape[1] !== model.resolved.inChannels) {
    throw new MedNeXtError(
      'MODEL_INPUT',
      `forwardNcdhw: input has ${input.shape[1]} channels (axis 1 of NCDHW), the model expects ${model.resolved.inChannels}`,
    );
  }
  const outputs = tf.tidy(() => {
    const x = toNdhwc(tf.tensor5d(input.data, input.shape as [number, number, number, number, number], 'float32'));
    return model.forward(x, options).map((o) => toNcdhw(o));
  });
  try {
    const data = await Promise.all(outputs.map((o) => o.data() as Promise<Float32Array>));
    return outputs.map((o, i) => ({ shape: [...o.shape], data: data[i] }));
  } finally {
    tf.dispose(outputs);
  }
}
