/// <reference types="@webgpu/types" />
/**
 * The MedNeXt block operations on the GPU, over the WGSL kernels of `@mednext-ts/tensor3d/webgpu`. Every
 * operation only records dispatches into the runtime's open command encoder; nothing runs until the forward
 * pass submits. Values are channels-first [C, D, H, W] tensors of one sample.
 *
 * Per block: depthwise conv → GroupNorm statistics → [GRN: bottleneck sums of squares → GRN scale] → fused
 * norm-apply/expand/GELU/[GRN]/compress (+ residual). Down blocks add the strided 1x1x1 `res_conv`; up blocks
 * add their output (and the transposed `res_conv`, on its stride-2 grid) into the skip with the official
 * one-voxel front padding.
 */
import {
  bottleneckTiles,
  depthwiseConv3d,
  depthwiseOutputSize,
  frontPaddedAdd,
  grnScale,
  groupNormStats,
  invertedBottleneck,
  pointwiseConv3d,
  type GpuRuntime,
  type GpuTensor,
} from '@mednext-ts/tensor3d/webgpu';
import type { Architecture, BlockSpec } from '../../../model/architecture.js';
import type { NetworkEngine } from '../../engine.js';
import type { GpuWeights } from './weights.js';

/** A value of the GPU engine: a channels-first tensor with its shape. */
export interface GpuValue {
  tensor: GpuTensor;
  channels: number;
  /** Spatial size [D, H, W]. */
  size: [number, number, number];
}

const voxels = (s: readonly number[]): number => s[0] * s[1] * s[2];

/** The depthwise conv1 of a block: stride 1 (plain), 2 (down), or transposed stride 2 (up). */
export interface BlockConv {
  stride: 1 | 2;
  transposed: boolean;
}

/** What {@link WebGpuEngine.blockPrologue} computes: the bottleneck's input and statistics. */
export interface BlockPrologue {
  /** conv1's output, the fused bottleneck's input. */
  dw: GpuValue;
  /** GroupNorm statistics of `dw` [C, 2]. */
  stats: GpuTensor;
  /** GRN's per-channel scale and shift [E, 2] (GRN blocks only). */
  grnAffine?: GpuTensor;
  /** Every tensor above, for the caller to release. */
  temporaries: GpuTensor[];
}

/** {@link NetworkEngine} over GPU buffers; one instance per forward pass. */
export class WebGpuEngine implements NetworkEngine<GpuValue> {
  readonly name = 'webgpu';

  constructor(
    private readonly rt: GpuRuntime,
    private readonly weights: Pick<GpuWeights, 'get'>,
    private readonly arch: Architecture,
  ) {}

  private value(channels: number, size: [number, number, number], label: string): GpuValue {
    return { tensor: this.rt.tensor(channels * voxels(size), label), channels, size };
  }

  stem(x: GpuValue): GpuValue {
    const c = this.arch.config.nChannels;
    const out = this.value(c, x.size, 'stem');
    pointwiseConv3d(this.rt, {
      input: x.tensor,
      weight: this.weights.get('stem.weight'),
      bias: this.weights.get('stem.bias'),
      output: out.tensor,
      inChannels: x.channels,
      outChannels: c,
      inSize: x.size,
    });
    return out;
  }

  /**
   * The part of a block before its fused bottleneck: depthwise conv1, its GroupNorm statistics and (GRN) the
   * per-channel GRN affine. The forward consumes it at once; the backward pass recomputes it from the block's
   * input (per-block recompute), so nothing inside a block is ever stored. The caller releases `temporaries`.
   * @param conv the depthwise conv1: stride 1 (plain block), 2 (down block), or transposed stride 2 (up block)
   */
  blockPrologue(x: GpuValue, b: BlockSpec, conv: BlockConv): BlockPrologue {
    const rt = this.rt;
    const p = (n: string): GpuTensor => this.weights.get(`${b.name}.${n}`);
    const size = depthwiseOutputSize(x.size, conv.stride, conv.transposed);
    const vox = voxels(size);
    const dw = this.value(b.cIn, size, `${b.name}.conv1`);
    depthwiseConv3d(rt, {
      input: x.tensor,
      filter: p('conv1.weight'),
      bias: p('conv1.bias'),
      output: dw.tensor,
      channels: b.cIn,
      inSize: x.size,
      kernel: b.kernel,
      stride: conv.stride,
      transposed: conv.transposed,
    });
    const stats = rt.tensor(2 * b.cIn, `${b.name}.norm.stats`);
    groupNormStats(rt, { input: dw.tensor, stats, channels: b.cIn, voxels: vox });
    const shape = {
      input: dw.tensor,
      stats,
      vectors: p('vectors'),
      w2: p('conv2.weight'),
      channels: b.cIn,
      expanded: b.expR * b.cIn,
      outChannels: b.cOut,
      voxels: vox,
    };
    let grnAffine: GpuTensor | undefined;
    const temporaries: GpuTensor[] = [dw.tensor, stats];
    if (b.grn) {
      // GRN needs the L2 norm of every expanded channel over the whole volume: one pass for the sums of
      // squares, then the block again with the resulting per-channel affine (the expanded tensor is recomputed,
      // never stored).
      const sums = rt.tensor(bottleneckTiles(shape, vox) * shape.expanded, `${b.name}.grn.sums`);
      grnAffine = rt.tensor(2 * shape.expanded, `${b.name}.grn.affine`);
      invertedBottleneck(rt, { ...shape, output: sums, grn: 'stats' });
      grnScale(rt, {
        sums,
        gamma: p('grn_gamma'),
        beta: p('grn_beta'),
        affine: grnAffine,
        channels: shape.expanded,
      });
      temporaries.push(sums, grnAffine);
    }
    return { dw, stats, grnAffine, temporaries };
  }

  /** Depthwise conv1, then norm → expand → GELU → [GRN] → compress (+ `residual`) into a new value. */
  private mednextBlock(x: GpuValue, b: BlockSpec, conv: BlockConv, residual?: GpuTensor): GpuValue {
    const p = (n: string): GpuTensor => this.weights.get(`${b.name}.${n}`);
    const { dw, stats, grnAffine, temporaries } = this.blockPrologue(x, b, conv);
    const out = this.value(b.cOut, dw.size, b.name);
    invertedBottleneck(this.rt, {
      input: dw.tensor,
      stats,
      vectors: p('vectors'),
      w2: p('conv2.weight'),
      channels: b.cIn,
      expanded: b.expR * b.cIn,
      outChannels: b.cOut,
      voxels: voxels(dw.size),
      w3: p('conv3.weight'),
      residual,
      grnAffine,
      grn: grnAffine ? 'apply' : 'none',
      output: out.tensor,
    });
    for (const t of temporaries) this.rt.release(t);
    return out;
  }

  block(x: GpuValue, b: BlockSpec): GpuValue {
    return this.mednextBlock(x, b, { stride: 1, transposed: false }, b.residual ? x.tensor : undefined);
  }

  down(x: GpuValue, b: BlockSpec): GpuValue {
    let res: GpuValue | undefined;
    if (b.residual) {
      res = this.value(b.cOut, depthwiseOutputSize(x.size, 2), `${b.name}.res_conv`);
      pointwiseConv3d(this.rt, {
        input: x.tensor,
        weight: this.weights.get(`${b.name}.res_conv.weight`),
        bias: this.weights.get(`${b.name}.res_conv.bias`),
        output: res.tensor,
        inChannels: b.cIn,
        outChannels: b.cOut,
        inSize: x.size,
        stride: 2,
      });
    }
    const out = this.mednextBlock(x, b, { stride: 2, transposed: false }, res?.tensor);
    if (res) this.rt.release(res.tensor);
    return out;
  }

  upAdd(x: GpuValue, b: BlockSpec, skip: GpuValue): GpuValue {
    const expected = x.size.map((n) => 2 * n);
    if (skip.channels !== b.cOut || skip.size.some((n, i) => n !== expected[i])) {
      throw new Error(
        `WebGPU MedNeXt ${b.name}: skip is ${skip.channels}x${skip.size.join('x')}, expected ${b.cOut}x${expected.join('x')}`,
      );
    }
    const h = this.mednextBlock(x, b, { stride: 2, transposed: true });
    let res: GpuValue | undefined;
    if (b.residual) {
      res = this.value(b.cOut, x.size, `${b.name}.res_conv`);
      pointwiseConv3d(this.rt, {
        input: x.tensor,
        weight: this.weights.get(`${b.name}.res_conv.weight`),
        bias: this.weights.get(`${b.name}.res_conv.bias`),
        output: res.tensor,
        inChannels: b.cIn,
        outChannels: b.cOut,
        inSize: x.size,
      });
    }
    frontPaddedAdd(this.rt, {
      target: skip.tensor,
      shifted: h.tensor,
      strided: res?.tensor,
      // Off its stride-2 grid the transposed 1x1x1 res_conv is just its bias.
      fill: res ? this.weights.get(`${b.name}.res_conv.bias`) : undefined,
      channels: b.cOut,
      size: skip.size,
    });
    this.rt.release(h.tensor);
    if (res) this.rt.release(res.tensor);
    return skip;
  }

  head(x: GpuValue, level: number): GpuValue {
    const classes = this.arch.config.nClasses;
    const out = this.value(classes, x.size, `out_${level}`);
    pointwiseConv3d(this.rt, {
      input: x.tensor,
      weight: this.weights.get(`out_${level}.conv_out.weight`),
      bias: this.weights.get(`out_${level}.conv_out.bias`),
      output: out.tensor,
      inChannels: x.channels,
      outChannels: classes,
      inSize: x.size,
    });
    return out;
  }

  release(x: GpuValue): void {
    this.rt.release(x.tensor);
  }
}
