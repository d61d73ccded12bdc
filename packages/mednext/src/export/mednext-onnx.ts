/**
 * MedNeXt v1 → ONNX (opset 17, NCDHW), from a configuration and a state dict in the official layout.
 *
 * The graph mirrors what `torch.onnx.export` makes of the official PyTorch module, so onnxruntime sees
 * the same operators: Conv (groups = C for the depthwise conv, 1x1x1 for pointwise), ConvTranspose
 * (groups = C, stride 2 in up blocks; 1x1x1 for the up residual and the heads), GroupNorm with one group
 * per channel as InstanceNormalization (identical maths: per sample and channel, biased variance, affine),
 * exact GELU as Div(√2)→Erf→Add(1)→Mul(x)→Mul(0.5) (the pattern onnxruntime fuses into one Gelu), GRN with
 * ReduceSumSquare/Sqrt/ReduceMean, and Pad for the up block's one-voxel front padding.
 * Initializers keep the official state-dict names; weights are stored in PyTorch layout, which is ONNX's.
 */
import { buildArchitecture, parameterSpecs, type Architecture, type BlockSpec } from '../model/architecture.js';
import { resolveConfig, type MedNeXtConfig } from '../model/config.js';
import { GRN_EPS, NORM_EPS } from '../model/layers.js';
import type { MedNeXt } from '../model/mednext.js';
import { getStateDict } from '../weights/state-dict.js';
import { formatShape, type StateDict } from '../weights/tensor-map.js';
import { GraphBuilder } from './graph-builder.js';
import { encodeOnnxModel, OnnxDataType, type OnnxModel, type OnnxValueInfo } from './onnx-proto.js';

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
    throw new Error(`ONNX export: the weights do not match the MedNeXt config; ${parts.join('; ')}`);
  }
}

/** Emits the graph of one MedNeXt model onto a builder. */
class MedNeXtGraph {
  constructor(
    private readonly g: GraphBuilder,
    private readonly weights: StateDict,
  ) {}

  /** Initializer for an official parameter (added once, on first use). */
  private w(name: string): string {
    if (!this.used.has(name)) {
      const t = this.weights.get(name)!;
      this.g.addFloat(name, t.shape, t.data);
      this.used.add(name);
    }
    return name;
  }
  private readonly used = new Set<string>();

  /** Regular 1x1x1 conv (weight `O x I x 1 x 1 x 1`), optional stride 2. */
  pointwise(x: string, prefix: string, hint: string, stride = 1): string {
    return this.g.conv(
      'Conv',
      x,
      this.w(`${prefix}.weight`),
      this.w(`${prefix}.bias`),
      { kernel: 1, stride, pad: 0, group: 1 },
      hint,
    );
  }

  /** Transposed 1x1x1 conv (weight `I x O x 1 x 1 x 1`). */
  pointwiseTransposed(x: string, prefix: string, hint: string, stride: number): string {
    return this.g.conv(
      'ConvTranspose',
      x,
      this.w(`${prefix}.weight`),
      this.w(`${prefix}.bias`),
      { kernel: 1, stride, pad: 0, group: 1 },
      hint,
    );
  }

  /** Exact GELU; the Div/Erf/Add/Mul/Mul chain is the form onnxruntime recognises and fuses. */
  gelu(x: string, hint: string): string {
    const g = this.g;
    const scaled = g.op('Div', [x, g.scalar(Math.SQRT2)], `${hint}/div`);
    const erf = g.op('Erf', [scaled], `${hint}/erf`);
    const plus = g.op('Add', [erf, g.scalar(1)], `${hint}/add`);
    const times = g.op('Mul', [x, plus], `${hint}/mul`);
    return g.op('Mul', [times, g.scalar(0.5)], hint);
  }

  /** GRN over the expanded tensor `h` (N, E, D, H, W); gamma/beta are `1 x E x 1 x 1 x 1`. */
  grn(h: string, pre: string): string {
    const g = this.g;
    // opset 17: ReduceSumSquare/ReduceMean still take `axes` as an attribute.
    const sumSq = g.op('ReduceSumSquare', [h], `${pre}/grn/sumsq`, {
      axes: { type: 'ints', value: [2, 3, 4] },
      keepdims: { type: 'int', value: 1 },
    });
    const norm = g.op('Sqrt', [sumSq], `${pre}/grn/l2`);
    const mean = g.op('ReduceMean', [norm], `${pre}/grn/mean`, {
      axes: { type: 'ints', value: [1] },
      keepdims: { type: 'int', value: 1 },
    });
    const denom = g.op('Add', [mean, g.scalar(GRN_EPS)], `${pre}/grn/denom`);
    const s = g.op('Div', [norm, denom], `${pre}/grn/s`);
    const hs = g.op('Mul', [h, s], `${pre}/grn/hs`);
    const scaled = g.op('Mul', [this.w(`${pre}.grn_gamma`), hs], `${pre}/grn/gamma`);
    const shifted = g.op('Add', [scaled, this.w(`${pre}.grn_beta`)], `${pre}/grn/beta`);
    return g.op('Add', [shifted, h], `${pre}/grn`);
  }

  /** One MedNeXt block (plain, down or up) on NCDHW input `x`. */
  block(x: string, b: BlockSpec): string {
    const g = this.g;
    const pre = b.name;
    const pad = Math.floor(b.kernel / 2);
    const dw = { kernel: b.kernel, pad, group: b.cIn };
    let h =
      b.kind === 'up'
        ? g.conv(
            'ConvTranspose',
            x,
            this.w(`${pre}.conv1.weight`),
            this.w(`${pre}.conv1.bias`),
            { ...dw, stride: 2 },
            `${pre}/conv1`,
          )
        : g.conv(
            'Conv',
            x,
            this.w(`${pre}.conv1.weight`),
            this.w(`${pre}.conv1.bias`),
            { ...dw, stride: b.kind === 'down' ? 2 : 1 },
            `${pre}/conv1`,
          );
    h = g.op('InstanceNormalization', [h, this.w(`${pre}.norm.weight`), this.w(`${pre}.norm.bias`)], `${pre}/norm`, {
      epsilon: { type: 'float', value: NORM_EPS },
    });
    h = this.gelu(this.pointwise(h, `${pre}.conv2`, `${pre}/conv2`), `${pre}/gelu`);
    if (b.grn) h = this.grn(h, pre);
    h = this.pointwise(h, `${pre}.conv3`, `${pre}/conv3`);
    if (b.kind === 'block') return b.residual ? g.op('Add', [x, h], `${pre}/res`) : h;
    if (b.kind === 'down') {
      if (!b.residual) return h;
      return g.op('Add', [h, this.pointwise(x, `${pre}.res_conv`, `${pre}/res_conv`, 2)], `${pre}/res`);
    }
    // Up block: both paths are (2n-1)^3 and each gets one zero voxel at the front of D, H, W; padding
    // their sum once is the same (0 + 0 = 0).
    if (b.residual)
      h = g.op('Add', [h, this.pointwiseTransposed(x, `${pre}.res_conv`, `${pre}/res_conv`, 2)], `${pre}/res`);
    const pads = g.int64s([0, 0, 1, 1, 1, 0, 0, 0, 0, 0], 'const_up_pads');
    return g.op('Pad', [h, pads], `${pre}/pad`, { mode: { type: 'string', value: 'constant' } });
  }

  /** Output head: transposed 1x1x1 conv (`C x n_classes` weight), as the official OutBlock. */
  head(x: string, name: string, output: string): string {
    const w = this.w(`${name}.conv_out.weight`);
    const b = this.w(`${name}.conv_out.bias`);
    const g = this.g;
    const out = g.fresh(output);
    g.nodes.push({
      opType: 'ConvTranspose',
      inputs: [x, w, b],
      outputs: [out],
      name: `${name}/conv_out`,
      attributes: {
        kernel_shape: { type: 'ints', value: [1, 1, 1] },
        strides: { type: 'ints', value: [1, 1, 1] },
        group: { type: 'int', value: 1 },
      },
    });
    return out;
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
    throw new Error('ONNX export: deepSupervision requested but the config has deep_supervision off (no DS heads)');
  }
  const spatial = options.spatialShape;
  if (spatial && (spatial.length !== 3 || spatial.some((v) => !Number.isInteger(v) || v < 16 || v % 16 !== 0))) {
    throw new Error(`ONNX export: spatialShape must be 3 multiples of 16, got [${spatial.join(', ')}]`);
  }
  const batch = options.batchSize;
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1)) {
    throw new Error(`ONNX export: batchSize must be a positive integer, got ${batch}`);
  }
  const heads = new Set(['out_0', ...(ds ? ['out_1', 'out_2', 'out_3', 'out_4'] : [])]);
  checkWeights(arch, weights, heads);

  const g = new GraphBuilder();
  const m = new MedNeXtGraph(g, weights);
  const input = g.fresh(ONNX_INPUT_NAME);
  let h = m.pointwise(input, 'stem', 'stem');
  const skips: string[] = [];
  for (let j = 0; j < 4; j++) {
    for (const b of arch.encoders[j]) h = m.block(h, b);
    skips.push(h);
    h = m.block(h, arch.downs[j]);
  }
  for (const b of arch.bottleneck) h = m.block(h, b);
  const dsOut: string[] = [];
  if (ds) dsOut.push(m.head(h, 'out_4', ONNX_OUTPUT_NAMES[4]));
  for (let i = 0; i < 4; i++) {
    const j = 3 - i;
    h = g.op('Add', [m.block(h, arch.ups[i]), skips[j]], `${arch.ups[i].name}/skip`);
    for (const b of arch.decoders[i]) h = m.block(h, b);
    if (ds && j > 0) dsOut.push(m.head(h, `out_${j}`, ONNX_OUTPUT_NAMES[j]));
  }
  const main = m.head(h, 'out_0', ONNX_OUTPUT_NAMES[0]);

  const n: number | string = batch ?? 'N';
  const dims = (factor: number): Array<number | string> =>
    spatial ? spatial.map((v) => v / factor) : ['D', 'H', 'W'].map((d) => (factor === 1 ? d : `${d}/${factor}`));
  const value = (name: string, channels: number, factor: number): OnnxValueInfo => ({
    name,
    elemType: OnnxDataType.FLOAT,
    shape: [n, channels, ...dims(factor)],
  });
  const outputs = [value(main, resolved.nClasses, 1)];
  // dsOut holds out_4 first (deepest); the official order is out_1 .. out_4.
  dsOut.reverse().forEach((name, i) => outputs.push(value(name, resolved.nClasses, 2 ** (i + 1))));
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
