/**
 * Partial fine-tuning: which parameters train when only the last decoder layers and the
 * deep-supervision heads are updated (the seed paper's "last 10 decoder layers" on SSA), and
 * re-initialising them.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Architecture } from '../model/architecture.js';
import type { MedNeXt } from '../model/mednext.js';

/**
 * The decoder "layers" in execution order: each up block (`up_3`, …) and each decoder block
 * (`dec_block_3.0`, …) is one layer, as PyTorch lists them as modules of the decoder path. For
 * MedNeXt-B (2 blocks per stage) there are 12: up_3, dec_block_3.0, dec_block_3.1, up_2, …,
 * dec_block_0.1.
 */
export function decoderLayers(arch: Architecture): string[] {
  const layers: string[] = [];
  for (let i = 0; i < arch.ups.length; i++) {
    layers.push(arch.ups[i]!.name);
    for (const b of arch.decoders[i]!) layers.push(b.name);
  }
  return layers;
}

/**
 * Names of the parameters trained when fine-tuning the last `trainLast` decoder layers plus every
 * output head (`out_0` and the deep-supervision heads `out_1..out_4`).
 */
export function finetuneParameterNames(model: MedNeXt, trainLast: number): string[] {
  const layers = decoderLayers(model.architecture);
  if (!Number.isInteger(trainLast) || trainLast < 0 || trainLast > layers.length) {
    throw new RangeError(`--train-last must be an integer in 0..${layers.length} for this model, got ${trainLast}`);
  }
  const prefixes = [...layers.slice(layers.length - trainLast), ...model.architecture.heads.map((h) => h.name)].map(
    (p) => `${p}.`,
  );
  return [...model.params.keys()].filter((name) => prefixes.some((p) => name.startsWith(p)));
}

/** Re-initialises the named parameters with the network's default (PyTorch) initialisation. */
export function reinitializeParameters(model: MedNeXt, names: readonly string[], seed: number): void {
  const specs = new Map(model.parameterSpecs().map((s, i) => [s.name, { s, i }]));
  for (const name of names) {
    const entry = specs.get(name);
    const variable = model.params.get(name);
    if (!entry || !variable) throw new Error(`reinitializeParameters: the model has no parameter '${name}'`);
    const { s, i } = entry;
    const value = tf.tidy(() => {
      if (s.init.kind === 'ones') return tf.ones(s.shape);
      if (s.init.kind === 'zeros') return tf.zeros(s.shape);
      const bound = 1 / Math.sqrt(s.init.fanIn);
      return tf.randomUniform(s.shape, -bound, bound, 'float32', seed * 100003 + i);
    });
    variable.assign(value);
    value.dispose();
  }
}
