/**
 * MedNeXt v1 → ONNX (opset 17, NCDHW), from a configuration and a state dict in the official layout: the ONNX
 * engine ({@link OnnxEngine}) emits the nodes as {@link walkMedNeXt} visits the network; this module checks the
 * weights and options, declares the graph's inputs and outputs, and encodes the file.
 */
import { buildArchitecture, parameterSpecs, type Architecture } from '../model/architecture.js';
import { resolveConfig, type MedNeXtConfig } from '../model/config.js';
import type { MedNeXt } from '../model/mednext.js';
import { getStateDict } from '../weights/state-dict.js';
import { formatShape, type StateDict } from '../weights/tensor-map.js';
import { walkMedNeXt } from '../network/engine.js';
import { GraphBuilder } from '../network/engines/onnx/graph-builder.js';
import { OnnxEngine } from '../network/engines/onnx/engine.js';
import { encodeOnnxModel, OnnxDataType, type OnnxModel, type OnnxValueInfo } from './onnx-proto.js';
import { MedNeXtError } from '../errors.js';

/** ONNX opset of the default domain used by the export. */
export const ONNX_OPSET = 17;
/** ONNX IR version matching opset 17 (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;

/** Options of {@link mednextToOnnx}. */
export interface OnnxExportOptions {
  /**
   * Fixed spatial size `[D, H, W]` of the input (each a multiple of 16). When absent the graph has
   * symbolic sizes `D`, `H`, `W`; fixed shapes let onnxruntime plan memory ahead and run faster.
   */
  spatialShape?: [number, number, number];
  /** Fixed batch size; symbolic `N` when absent. */
  batchSize?: number;
  /**
   * Also output the 4 deep-supervision heads (`output_ds1` … `output_ds4`, official order, 1/2 … 1/16
   * resolution). Needs a config with `deep_supervision` on. Default false (inference).
   */
  deepSupervision?: boolean;
  /** Stored as `producer_version`. */
  producerVersion?: string;
  /** Extra `metadata_props` (the config is always stored under `mednext_config`). */
  metadata?: Record<string, string>;
}

/** Name of the graph input. */
export const ONNX_INPUT_NAME = 'input';
/** Names of the graph outputs: main, then the deep-supervision heads. */
export const ONNX_OUTPUT_NAMES = ['output', 'output_ds1', 'output_ds2', 'output_ds3', 'output_ds4'] as const;

/** Checks that every parameter the graph needs is present with its exact PyTorch shape. */
function checkWeights(arch: Architecture, weights: StateDict, withHeads: Set<string>): void {
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const spec of parameterSpecs(arch)) {
    if (spec.name === 'dummy_tensor') continue;
    const head = /^(out_\d)\./.exec(spec.name);
    if (head && !withHeads.has(head[1])) continue;
    const t = weights.get(spec.name);
    if (!t) missing.push(spec.name);
    else if (t.shape.length !== spec.shape.length || t.shape.some((v, i) => v !== spec.shape[i])) {
      wrong.push(`${spec.name} (${formatShape(t.shape)}, expected ${formatShape(spec.shape)})`);
    } else if (t.data.length !== spec.shape.reduce((a, b) => a * b, 1)) {
      wrong.push(`${spec.name} (${t.data.length} values for ${formatShape(spec.shape)})`);
    }
  }
  if (missing.length || wrong.length) {
    const parts = [];
    if (missing.length) parts.push(`missing: ${missing.join(', ')}`);
    if (wrong.length) parts.push(`wrong shape: ${wrong.join(', ')}`);
    throw new MedNeXtError(
      'WEIGHTS_MISMATCH',
      `ONNX export: the weights do not match the MedNeXt config; ${parts.join('; ')}`,
    );
  }
}

/**
 * Builds the ONNX model (as objects, before serialisation) of a MedNeXt configuration with the given
 * weights (official state-dict names, PyTorch layout). See {@link mednextToOnnx}.
 * @throws when a weight is missing or mis-shaped (listing all of them), or on bad options
 */
export function buildMedNeXtOnnx(
  config: MedNeXtConfig,
  weights: StateDict,
  options: OnnxExportOptions = {},
): OnnxModel {
  const resolved = resolveConfig(config);
  const arch = buildArchitecture(resolved);
  const ds = options.deepSupervision ?? false;
  if (ds && !resolved.deepSupervision) {
    throw new MedNeXtError(
      'MODEL_CONFIG',
      'ONNX export: deepSupervision requested but the config has deep_supervision off (no DS heads)',
    );
  }
  const spatial = options.spatialShape;
  if (spatial && (spatial.length !== 3 || spatial.some((v) => !Number.isInteger(v) || v < 16 || v % 16 !== 0))) {
    throw new MedNeXtError(
      'MODEL_INPUT',
      `ONNX export: spatialShape must be 3 multiples of 16, got [${spatial.join(', ')}]`,
    );
  }
  const batch = options.batchSize;
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1)) {
    throw new MedNeXtError('MODEL_INPUT', `ONNX export: batchSize must be a positive integer, got ${batch}`);
  }
  const heads = new Set(['out_0', ...(ds ? ['out_1', 'out_2', 'out_3', 'out_4'] : [])]);
  checkWeights(arch, weights, heads);

  const g = new GraphBuilder();
  const input = g.fresh(ONNX_INPUT_NAME);
  const [main, ...dsOut] = walkMedNeXt(arch, new OnnxEngine(g, weights, ONNX_OUTPUT_NAMES), input, {
    deepSupervision: ds,
  });

  const n: number | string = batch ?? 'N';
  const dims = (factor: number): Array<number | string> =>
    spatial ? spatial.map((v) => v / factor) : ['D', 'H', 'W'].map((d) => (factor === 1 ? d : `${d}/${factor}`));
  const value = (name: string, channels: number, factor: number): OnnxValueInfo => ({
    name,
    elemType: OnnxDataType.FLOAT,
    shape: [n, channels, ...dims(factor)],
  });
  const outputs = [value(main, resolved.nClasses, 1)];
  dsOut.forEach((name, i) => outputs.push(value(name, resolved.nClasses, 2 ** (i + 1))));
  return {
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'mednext-ts',
    producerVersion: options.producerVersion ?? '0',
    docString: 'MedNeXt v1 (Roy et al. 2023), NCDHW float32 logits',
    metadata: { mednext_config: JSON.stringify(config), ...options.metadata },
    graph: {
      name: 'mednext',
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [value(input, resolved.inChannels, 1)],
      outputs,
    },
  };
}

/**
 * Exports a MedNeXt network to the bytes of an `.onnx` file (opset 17, NCDHW float32, input `input`,
 * outputs `output` and, with `deepSupervision`, `output_ds1` … `output_ds4`).
 * @param config the official constructor arguments
 * @param weights state dict with official names in PyTorch layout (e.g. `getStateDict(model)` or a
 *   parsed `.safetensors` checkpoint); extra tensors (unused DS heads, `dummy_tensor`) are ignored
 */
export function mednextToOnnx(config: MedNeXtConfig, weights: StateDict, options: OnnxExportOptions = {}): Uint8Array {
  return encodeOnnxModel(buildMedNeXtOnnx(config, weights, options));
}

/** {@link mednextToOnnx} for a live model: its config and current weights. */
export function modelToOnnx(model: MedNeXt, options: OnnxExportOptions = {}): Uint8Array {
  return mednextToOnnx(model.config, getStateDict(model), options);
}
