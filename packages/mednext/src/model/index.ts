/**
 * The MedNeXt v1 network: configuration (official argument names, presets), the module tree and parameter list,
 * the `MedNeXt` class (variables + forward pass), NCDHW array helpers, the per-layer summary and a tensor-buffer
 * meter. How the forward pass runs (engines, the plan) lives in `../network`.
 *
 * @example
 * ```ts
 * import { MedNeXt, presetConfig, toNdhwc } from '@mednext-ts/mednext';
 * const model = MedNeXt.create(presetConfig('S', { inChannels: 4, nClasses: 3 }), { seed: 1 });
 * const [logits] = model.forward(toNdhwc(x)); // x: NCDHW [1, 4, 64, 64, 64]
 * ```
 */
export {
  presetConfig,
  resolveConfig,
  type MedNeXtConfig,
  type PresetName,
  type PresetOptions,
  type ResolvedConfig,
} from './config.js';
export {
  GRN_EPS,
  NORM_EPS,
  allBlocks,
  buildArchitecture,
  countParameters,
  parameterSpecs,
  type Architecture,
  type BlockKind,
  type BlockSpec,
  type InitKind,
  type ParamSpec,
} from './architecture.js';
export { MedNeXt, toNcdhw, toNdhwc, type CreateOptions, type ForwardOptions } from './mednext.js';
export { summarize, type MacBreakdown, type ModelSummary, type SummaryRow } from './summary.js';
export { forwardNcdhw, type ShapedArray } from './run-arrays.js';
export { meterBuffers, type BufferMeter } from './buffer-meter.js';
