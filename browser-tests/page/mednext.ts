/**
 * A tiny MedNeXt forward in the page on tfjs-wasm, with parameters sent from Node so the very same network
 * can be run there and compared.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MedNeXt, forwardNcdhw, type MedNeXtConfig } from '@mednext-ts/mednext';
import { useBackend } from './backends.js';
import type { MedNeXtRequest, MedNeXtResult } from './protocol.js';

/** Builds the network of `request.config`, loads every parameter of `request.params`, and runs the input. */
export async function mednextForward(request: MedNeXtRequest): Promise<MedNeXtResult> {
  await useBackend('wasm');
  const model = MedNeXt.create(request.config as unknown as MedNeXtConfig, { seed: 1 });
  try {
    for (const [name, variable] of model.params) {
      const p = request.params[name];
      if (!p) throw new Error(`mednextForward: parameter '${name}' was not sent`);
      if (p.shape.join() !== variable.shape.join()) {
        throw new Error(`mednextForward: '${name}' has shape [${p.shape}], the model expects [${variable.shape}]`);
      }
      const value = tf.tensor(p.data, p.shape, 'float32');
      variable.assign(value);
      value.dispose();
    }
    const [out] = await forwardNcdhw(model, {
      shape: request.input.shape,
      data: Float32Array.from(request.input.data),
    });
    return { tfjsBackend: tf.getBackend(), shape: out!.shape, data: Array.from(out!.data) };
  } finally {
    for (const v of model.params.values()) v.dispose();
  }
}
