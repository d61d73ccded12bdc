/**
 * The ONNX engine: {@link walkMedNeXt}'s operations as ONNX nodes (opset 17, NCDHW), mirroring what
 * `torch.onnx.export` makes of the official PyTorch module, so onnxruntime sees the same operators: Conv
 * (groups = C for the depthwise conv, 1x1x1 for pointwise), ConvTranspose (groups = C, stride 2 in up blocks;
 * 1x1x1 for the up residual and the heads), GroupNorm with one group per channel as InstanceNormalization
 * (identical maths), exact GELU as Div(√2)→Erf→Add(1)→Mul(x)→Mul(0.5) (the pattern onnxruntime fuses into one
 * Gelu), GRN with ReduceSumSquare/Sqrt/ReduceMean, and Pad for the up block's one-voxel front padding.
 * Initializers keep the official state-dict names; weights are stored in PyTorch layout, which is ONNX's.
 */
import { GRN_EPS, NORM_EPS, type BlockSpec } from '../../../model/architecture.js';
import type { StateDict } from '../../../weights/tensor-map.js';
import type { NetworkEngine } from '../../engine.js';
import { GraphBuilder } from './graph-builder.js';

/** {@link NetworkEngine} that emits ONNX nodes (NCDHW value names) onto a {@link GraphBuilder}. */
export class OnnxEngine implements NetworkEngine<string> {
  readonly name = 'onnx';

  /**
   * @param weights the parameters by official name (PyTorch layout), added as initializers on first use
   * @param outputNames the graph output name of each head level (0 = main)
   */
  constructor(
    private readonly g: GraphBuilder,
    private readonly weights: StateDict,
    private readonly outputNames: readonly string[],
  ) {}

  stem(x: string): string {
    return this.pointwise(x, 'stem', 'stem');
  }

  down(x: string, b: BlockSpec): string {
    return this.block(x, b);
  }

  /** `block(x) + skip`: the up block's output added into its skip connection. */
  upAdd(x: string, b: BlockSpec, skip: string): string {
    return this.g.op('Add', [this.block(x, b), skip], `${b.name}/skip`);
  }

  /** Graph values are names: nothing to free. */
  release(): void {}

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
  private pointwise(x: string, prefix: string, hint: string, stride = 1): string {
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
  private pointwiseTransposed(x: string, prefix: string, hint: string, stride: number): string {
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
  private gelu(x: string, hint: string): string {
    const g = this.g;
    const scaled = g.op('Div', [x, g.scalar(Math.SQRT2)], `${hint}/div`);
    const erf = g.op('Erf', [scaled], `${hint}/erf`);
    const plus = g.op('Add', [erf, g.scalar(1)], `${hint}/add`);
    const times = g.op('Mul', [x, plus], `${hint}/mul`);
    return g.op('Mul', [times, g.scalar(0.5)], hint);
  }

  /** GRN over the expanded tensor `h` (N, E, D, H, W); gamma/beta are `1 x E x 1 x 1 x 1`. */
  private grn(h: string, pre: string): string {
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

  /** Output head `out_{level}`: transposed 1x1x1 conv (`C x n_classes` weight), as the official OutBlock. */
  head(x: string, level: number): string {
    const name = `out_${level}`;
    const w = this.w(`${name}.conv_out.weight`);
    const b = this.w(`${name}.conv_out.bias`);
    const g = this.g;
    const out = g.fresh(this.outputNames[level]);
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
