/**
 * A network's config and weights from any supported file: the config stored in our safetensors
 * metadata when present, else inferred from the tensors (PyTorch / Lightning checkpoints), with
 * any prefix such as Lightning's `model.` removed.
 */
import type { MedNeXtConfig } from '../model/config.js';
import type { LoadedWeights } from './checkpoint.js';
import { inferMedNeXtConfig, stripPrefix, transposeHeads, type InferredConfig } from './infer-config.js';
import { configFromMetadata } from './state-dict.js';
import type { StateDict } from './tensor-map.js';

/** Config and weights ready for {@link loadStateDict}. */
export interface NetworkWeights {
  config: MedNeXtConfig;
  /** The network's tensors with official names (prefix removed). */
  tensors: StateDict;
  /** How the config was inferred, or null when the file's metadata held it. */
  inferred: InferredConfig | null;
}

/**
 * Config and tensors of the network in `weights`. `source` names the file in errors.
 * @example
 * const { config, tensors, inferred } = networkWeights(await readWeightsFile('last.ckpt'), 'last.ckpt');
 * const model = MedNeXt.create(config);
 * loadStateDict(model, tensors, { source: 'last.ckpt' });
 */
export function networkWeights(weights: LoadedWeights, source = 'checkpoint'): NetworkWeights {
  const stored = configFromMetadata(weights.metadata);
  if (stored) return { config: stored, tensors: weights.tensors, inferred: null };
  const inferred = inferMedNeXtConfig(weights.tensors, source);
  const stripped = stripPrefix(weights.tensors, inferred.prefix);
  const tensors = inferred.headLayout === 'conv' ? transposeHeads(stripped) : stripped;
  return { config: inferred.config, tensors, inferred };
}
