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
 *
 * Tensors larger than one storage binding are held as channel groups ({@link GpuValue.parts}). Per-channel
 * kernels run once per group, pointwise convolutions once per (input group, output group), accumulating over the
 * input groups (bias added once). The plan of a block ({@link WebGpuEngine.planBlock}) picks its path: `fused`
 * (the inverted-bottleneck kernel, expanded tensor only in workgroup memory) whenever the block's tensors fit one
 * binding each, else `split`: norm-apply → expand → GELU → [GRN] → compress as separate grouped dispatches, which
 * keeps the normalised input and the expanded tensor (expansion ratio x the block's input) in global memory,
 * written and read again by every step. The backward pass (backward.ts) recomputes a fused block's
 * {@link WebGpuEngine.blockPrologue}; it has no split path, so training refuses a patch with split tensors.
 */
import {
  bottleneckTiles,
  channelAffine,
  channelSquareSums,
  copyBlock,
  depthwiseConv3d,
  depthwiseOutputSize,
  frontPaddedAdd,
  gelu,
  grnScale,
  groupNormApply,
  groupNormStats,
  add,
  invertedBottleneck,
  pointwiseConv3d,
  channelsPerGroup,
  type GpuRuntime,
  type GpuTensor,
} from '@mednext-ts/tensor3d/webgpu';
import type { Architecture, BlockSpec } from '../../../model/architecture.js';
import type { NetworkEngine } from '../../engine.js';
import type { GpuWeights } from './weights.js';
import { MedNeXtError } from '../../../errors.js';
import {
  allocateValue,
  channelRanges,
  fitsOneBinding,
  regroup,
  releaseValue,
  voxels,
  type GpuValue,
} from './values.js';

export { gpuValue, type GpuValue } from './values.js';

/** How a block ran: the fused bottleneck kernel, or the channel-split sequence of kernels. */
export type BlockPath = 'fused' | 'split';

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
  /** The path each block took, in the order they ran. */
  readonly blockPaths: Array<{ block: string; path: BlockPath }> = [];
  /** Weight slices made for channel groups during this pass (released by {@link releaseScratch}). */
  private readonly slices = new Map<string, GpuTensor>();

  constructor(
    private readonly rt: GpuRuntime,
    private readonly weights: Pick<GpuWeights, 'get'>,
    private readonly arch: Architecture,
  ) {}

  private value(channels: number, size: [number, number, number], label: string, partChannels?: number): GpuValue {
    return allocateValue(this.rt, channels, size, label, partChannels);
  }

  /**
   * Rows `[row, row + rows)` and columns `[col, col + cols)` of parameter `name` seen as a row-major matrix of
   * `rowLength` columns: the parameter itself when that is all of it, else a copy made once per pass.
   */
  private slice(name: string, rowLength: number, row: number, rows: number, col = 0, cols = rowLength): GpuTensor {
    const whole = this.weights.get(name);
    if (row === 0 && col === 0 && cols === rowLength && rows * rowLength === whole.length) return whole;
    const key = `${name}|${rowLength}|${row}|${rows}|${col}|${cols}`;
    let t = this.slices.get(key);
    if (!t) {
      t = this.rt.tensor(rows * cols, `${name}[${row}:${row + rows}, ${col}:${col + cols}]`);
      copyBlock(this.rt, {
        src: whole,
        dst: t,
        rows,
        cols,
        srcOffset: row * rowLength + col,
        srcRowLength: rowLength,
      });
      this.slices.set(key, t);
    }
    return t;
  }

  /** Releases the weight slices of this pass (after the last recorded dispatch that reads them). */
  releaseScratch(): void {
    for (const t of this.slices.values()) this.rt.release(t);
    this.slices.clear();
  }

  /**
   * y = W x + b over channel groups: one dispatch per (input group, output group), the first input group writing
   * bias + its share, the others accumulating. `weight` is [CO, CI].
   */
  private pointwise(x: GpuValue, out: GpuValue, weight: string, bias: string, stride = 1): void {
    const inRanges = channelRanges(x.channels, x.partChannels);
    channelRanges(out.channels, out.partChannels).forEach((o, j) => {
      inRanges.forEach((i, k) => {
        pointwiseConv3d(this.rt, {
          input: x.parts[k],
          weight: this.slice(weight, x.channels, o.first, o.count, i.first, i.count),
          bias: k === 0 ? this.slice(bias, 1, o.first, o.count) : undefined,
          accumulate: k > 0,
          output: out.parts[j],
          inChannels: i.count,
          outChannels: o.count,
          inSize: x.size,
          stride,
        });
      });
    });
  }

  /**
   * The path of block `b` on an output grid of `vox` voxels: fused when its depthwise output, its output (and
   * residual) and the GRN partial sums each fit one binding; split otherwise.
   */
  planBlock(b: BlockSpec, vox: number): BlockPath {
    const fits = (channels: number): boolean => fitsOneBinding(this.rt, channels, vox);
    const expanded = b.expR * b.cIn;
    const grnSums = b.grn ? bottleneckTiles({ channels: b.cIn, expanded, outChannels: b.cOut }, vox) : 0;
    const ok = fits(b.cIn) && fits(b.cOut) && (!b.grn || fitsOneBinding(this.rt, expanded, grnSums));
    return ok ? 'fused' : 'split';
  }

  /** Depthwise conv1 of every channel group of `x` into a value with the same grouping (regrouping `x` if needed). */
  private depthwise(x: GpuValue, b: BlockSpec, conv: BlockConv): GpuValue {
    const size = depthwiseOutputSize(x.size, conv.stride, conv.transposed);
    const g = Math.min(x.partChannels, channelsPerGroup(b.cIn, voxels(size), this.rt.maxBindingBytes));
    const input = regroup(this.rt, x, g);
    const dw = this.value(b.cIn, size, `${b.name}.conv1`, g);
    const k3 = b.kernel ** 3;
    channelRanges(b.cIn, g).forEach((r, i) => {
      depthwiseConv3d(this.rt, {
        input: input.parts[i],
        filter: this.slice(`${b.name}.conv1.weight`, k3, r.first, r.count),
        bias: this.slice(`${b.name}.conv1.bias`, 1, r.first, r.count),
        output: dw.parts[i],
        channels: r.count,
        inSize: x.size,
        kernel: b.kernel,
        stride: conv.stride,
        transposed: conv.transposed,
      });
    });
    if (input !== x) releaseValue(this.rt, input);
    return dw;
  }

  /**
   * The part of a fused block before its bottleneck kernel: depthwise conv1 (in one binding), its GroupNorm
   * statistics and (GRN) the per-channel GRN affine. The forward consumes it at once; the backward pass
   * recomputes it from the block's input (per-block recompute), so nothing inside a block is ever stored. Only
   * for blocks {@link planBlock} puts on the `fused` path. The caller releases `temporaries`.
   * @param conv the depthwise conv1: stride 1 (plain block), 2 (down block), or transposed stride 2 (up block)
   */
  blockPrologue(x: GpuValue, b: BlockSpec, conv: BlockConv): BlockPrologue {
    const rt = this.rt;
    const size = depthwiseOutputSize(x.size, conv.stride, conv.transposed);
    if (this.planBlock(b, voxels(size)) !== 'fused') {
      throw new MedNeXtError(
        'GPU_LIMIT',
        `WebGPU MedNeXt ${b.name}: at ${size.join('x')} its tensors exceed one storage binding ` +
          `(${rt.maxBindingBytes} bytes), so it has no fused bottleneck to run`,
      );
    }
    const p = (n: string): GpuTensor => this.weights.get(`${b.name}.${n}`);
    const grouped = this.depthwise(x, b, conv);
    const dw = regroup(rt, grouped, b.cIn);
    if (dw !== grouped) releaseValue(rt, grouped);
    const vox = voxels(dw.size);
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

  /**
   * Depthwise conv1, then norm → expand → GELU → [GRN] → compress (+ `residual`) into a new value, on the path
   * {@link planBlock} picks.
   * @param conv the depthwise conv1: stride 1 (plain block), 2 (down block), or transposed stride 2 (up block)
   */
  private mednextBlock(x: GpuValue, b: BlockSpec, conv: BlockConv, residual?: GpuValue): GpuValue {
    const size = depthwiseOutputSize(x.size, conv.stride, conv.transposed);
    const path = this.planBlock(b, voxels(size));
    this.blockPaths.push({ block: b.name, path });
    if (path === 'fused') return this.fusedBlock(x, b, conv, residual);
    const dw = this.depthwise(x, b, conv);
    const out = this.splitBlock(dw, b, residual);
    releaseValue(this.rt, dw);
    return out;
  }

  /** The fused bottleneck kernel after {@link blockPrologue}, for a block whose tensors each fit one binding. */
  private fusedBlock(x: GpuValue, b: BlockSpec, conv: BlockConv, residualValue?: GpuValue): GpuValue {
    const rt = this.rt;
    const p = (n: string): GpuTensor => this.weights.get(`${b.name}.${n}`);
    const { dw, stats, grnAffine, temporaries } = this.blockPrologue(x, b, conv);
    const res = residualValue ? regroup(rt, residualValue, b.cOut) : undefined;
    const out = this.value(b.cOut, dw.size, b.name);
    invertedBottleneck(rt, {
      input: dw.tensor,
      stats,
      vectors: p('vectors'),
      w2: p('conv2.weight'),
      channels: b.cIn,
      expanded: b.expR * b.cIn,
      outChannels: b.cOut,
      voxels: voxels(dw.size),
      w3: p('conv3.weight'),
      residual: res?.tensor,
      grnAffine,
      grn: grnAffine ? 'apply' : 'none',
      output: out.tensor,
    });
    if (res && res !== residualValue) releaseValue(rt, res);
    for (const t of temporaries) rt.release(t);
    return out;
  }

  /**
   * The bottleneck as separate grouped dispatches, for blocks whose tensors do not fit one binding: per channel
   * group GroupNorm statistics and apply; grouped expand; GELU per group; [GRN: sums of squares per group, one
   * scale over all channels, affine per group]; grouped compress; + residual per group. The expanded tensor lives
   * in global memory here.
   */
  private splitBlock(dw: GpuValue, b: BlockSpec, residual?: GpuValue): GpuValue {
    const rt = this.rt;
    const name = (n: string): string => `${b.name}.${n}`;
    const size = dw.size;
    const vox = voxels(size);
    const normed = this.value(b.cIn, size, name('norm'), dw.partChannels);
    channelRanges(b.cIn, dw.partChannels).forEach((r, i) => {
      const stats = rt.tensor(2 * r.count, `${name('norm.stats')}[${r.first}]`);
      groupNormStats(rt, { input: dw.parts[i], stats, channels: r.count, voxels: vox });
      groupNormApply(rt, {
        input: dw.parts[i],
        stats,
        gamma: this.slice(name('norm.weight'), 1, r.first, r.count),
        beta: this.slice(name('norm.bias'), 1, r.first, r.count),
        output: normed.parts[i],
        channels: r.count,
        voxels: vox,
      });
      rt.release(stats);
    });
    const e = b.expR * b.cIn;
    const hidden = this.value(e, size, name('expanded'));
    this.pointwise(normed, hidden, name('conv2.weight'), name('conv2.bias'));
    releaseValue(rt, normed);
    for (const part of hidden.parts) gelu(rt, part);
    if (b.grn) {
      const sums = rt.tensor(e, name('grn.sums'));
      const affine = rt.tensor(2 * e, name('grn.affine'));
      const ranges = channelRanges(e, hidden.partChannels);
      ranges.forEach((r, i) =>
        channelSquareSums(rt, { input: hidden.parts[i], sums, channels: r.count, voxels: vox, first: r.first }),
      );
      grnScale(rt, {
        sums,
        gamma: this.weights.get(name('grn_gamma')),
        beta: this.weights.get(name('grn_beta')),
        affine,
        channels: e,
      });
      ranges.forEach((r, i) =>
        channelAffine(rt, { input: hidden.parts[i], affine, channels: r.count, voxels: vox, first: r.first }),
      );
      rt.release(sums);
      rt.release(affine);
    }
    const out = this.value(b.cOut, size, b.name, residual?.partChannels);
    this.pointwise(hidden, out, name('conv3.weight'), name('conv3.bias'));
    releaseValue(rt, hidden);
    if (!residual) return out;
    const res = regroup(rt, residual, out.partChannels);
    const sum = this.value(b.cOut, size, b.name, out.partChannels);
    out.parts.forEach((part, i) => add(rt, { a: part, b: res.parts[i], output: sum.parts[i] }));
    releaseValue(rt, out);
    if (res !== residual) releaseValue(rt, res);
    return sum;
  }

  stem(x: GpuValue): GpuValue {
    const out = this.value(this.arch.config.nChannels, x.size, 'stem');
    this.pointwise(x, out, 'stem.weight', 'stem.bias');
    return out;
  }

  block(x: GpuValue, b: BlockSpec): GpuValue {
    return this.mednextBlock(x, b, { stride: 1, transposed: false }, b.residual ? x : undefined);
  }

  down(x: GpuValue, b: BlockSpec): GpuValue {
    let res: GpuValue | undefined;
    if (b.residual) {
      res = this.value(b.cOut, depthwiseOutputSize(x.size, 2), `${b.name}.res_conv`);
      this.pointwise(x, res, `${b.name}.res_conv.weight`, `${b.name}.res_conv.bias`, 2);
    }
    const out = this.mednextBlock(x, b, { stride: 2, transposed: false }, res);
    if (res) releaseValue(this.rt, res);
    return out;
  }

  upAdd(x: GpuValue, b: BlockSpec, skip: GpuValue): GpuValue {
    const expected = x.size.map((n) => 2 * n);
    if (skip.channels !== b.cOut || skip.size.some((n, i) => n !== expected[i])) {
      throw new Error(
        `WebGPU MedNeXt ${b.name}: skip is ${skip.channels}x${skip.size.join('x')}, expected ${b.cOut}x${expected.join('x')}`,
      );
    }
    const block = this.mednextBlock(x, b, { stride: 2, transposed: true });
    // Every term is added per channel group of the skip.
    const h = regroup(this.rt, block, skip.partChannels);
    if (h !== block) releaseValue(this.rt, block);
    let res: GpuValue | undefined;
    if (b.residual) {
      res = this.value(b.cOut, x.size, `${b.name}.res_conv`, skip.partChannels);
      this.pointwise(x, res, `${b.name}.res_conv.weight`, `${b.name}.res_conv.bias`);
    }
    channelRanges(b.cOut, skip.partChannels).forEach((r, i) => {
      frontPaddedAdd(this.rt, {
        target: skip.parts[i],
        shifted: h.parts[i],
        strided: res?.parts[i],
        // Off its stride-2 grid the transposed 1x1x1 res_conv is just its bias.
        fill: res ? this.slice(`${b.name}.res_conv.bias`, 1, r.first, r.count) : undefined,
        channels: r.count,
        size: skip.size,
      });
    });
    releaseValue(this.rt, h);
    if (res) releaseValue(this.rt, res);
    return skip;
  }

  head(x: GpuValue, level: number): GpuValue {
    const out = this.value(this.arch.config.nClasses, x.size, `out_${level}`);
    this.pointwise(x, out, `out_${level}.conv_out.weight`, `out_${level}.conv_out.bias`);
    return out;
  }

  release(x: GpuValue): void {
    releaseValue(this.rt, x);
  }
}
