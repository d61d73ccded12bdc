/**
 * The whole MedNeXt forward pass (inference) inside the WebAssembly kernels' memory: {@link walkMedNeXt} on the
 * {@link KernelHeapEngine}, one sample at a time, with the weights packed once ({@link packNetwork}). tfjs sees
 * one input and the outputs; no activation is copied between the two memories.
 *
 * The plan ({@link planForward}) picks it for inference on the host backends with the fast kernels on, for
 * networks whose every block the fused kernel takes (no GRN).
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernels } from '@mednext-ts/tensor3d';
import { allBlocks, type Architecture } from '../../../model/architecture.js';
import { walkMedNeXt } from '../../engine.js';
import { fusedBlockSupports } from '../../plan.js';
import type { ParamGetter } from '../tfjs/layers.js';
import { KernelHeapEngine, type Spatial } from './engine.js';
import { freePackedNetwork, packNetwork, packedParamNames, type PackedNetwork } from './packed-weights.js';

type KernelRuntime = wasmKernels.KernelRuntime;

/** Options of {@link KernelHeapNetwork}. */
export interface KernelHeapOptions {
  /** Bytes of an up block's depthwise output computed at once (a slab of planes, at least one; default 64 MiB). */
  slabBytes?: number;
}

/** Whether the kernel-heap engine can run every part of `arch`. */
export function kernelHeapSupports(arch: Architecture): boolean {
  return allBlocks(arch).every(fusedBlockSupports);
}

/** A model's kernel-heap forward pass: packed weights plus the walk on the kernel-heap engine. */
export class KernelHeapNetwork {
  private packed: PackedNetwork | undefined;
  private readonly slabBytes: number;
  /** Every parameter name the pass reads, in a fixed order (checked on each run to detect changed weights). */
  private readonly names: string[];

  constructor(
    private readonly arch: Architecture,
    options: KernelHeapOptions = {},
  ) {
    this.slabBytes = options.slabBytes ?? 64 * 2 ** 20;
    if (!kernelHeapSupports(arch)) {
      throw new Error('KernelHeapNetwork: the fused kernel does not take every block of this network (GRN?)');
    }
    this.names = packedParamNames(arch);
  }

  /**
   * Packs the weights into `rt`'s memory, unless the ones packed there are still the parameters' data ({@link run}
   * does it too; call it first where `run` must not read tensors, e.g. inside `withHostArrays`).
   */
  prepare(rt: KernelRuntime, p: ParamGetter): void {
    this.packedFor(rt, p);
  }

  private packedFor(rt: KernelRuntime, p: ParamGetter): PackedNetwork {
    const dataIds = this.names.map((n) => p(n).dataId);
    const old = this.packed;
    if (old && old.rt === rt && old.dataIds.every((d, i) => d === dataIds[i])) return old;
    this.dispose();
    this.packed = packNetwork(rt, this.arch, p, dataIds);
    return this.packed;
  }

  /**
   * Runs one sample `x` [D, H, W, in_channels] (channels-last) and returns the logits, channels-last:
   * `[main]`, or with `deepSupervision` `[main, out_1 (S/2), ..., out_4 (S/16)]`; written into `outputs` (same
   * order and sizes) when given, else into new arrays.
   */
  run(
    rt: KernelRuntime,
    p: ParamGetter,
    x: Float32Array,
    spatial: Spatial,
    deepSupervision: boolean,
    outputs?: Float32Array[],
  ): Float32Array[] {
    const net = this.packedFor(rt, p);
    const { inChannels } = this.arch.config;
    const voxels = spatial[0] * spatial[1] * spatial[2];
    if (x.length !== voxels * inChannels) {
      throw new Error(
        `KernelHeapNetwork.run: x has ${x.length} values, ${spatial.join('x')}x${inChannels} needs ${voxels * inChannels}`,
      );
    }
    /** Where head `level` goes: the caller's array, or a new one. */
    const destination = (level: number, size: number): Float32Array => {
      const dst = outputs?.[level];
      if (!dst) return new Float32Array(size);
      if (dst.length !== size) {
        throw new Error(`KernelHeapNetwork.run: output ${level} has ${dst.length} values, expected ${size}`);
      }
      return dst;
    };
    const engine = new KernelHeapEngine(rt, net, this.slabBytes, destination);
    try {
      return walkMedNeXt(this.arch, engine, engine.stage(x, spatial, inChannels), { deepSupervision });
    } finally {
      engine.freeAll();
    }
  }

  /**
   * The forward pass of NDHWC tfjs tensors, sample by sample: the input is read and the outputs written in place
   * in the backend's memory (no host copies). Returns `[main]` or with `deepSupervision` the 5 heads.
   */
  forward(x: tf.Tensor5D, p: ParamGetter, deepSupervision: boolean): tf.Tensor5D[] {
    const [n, d, h, w, c] = x.shape;
    const rt = wasmKernels.getKernelRuntime();
    this.prepare(rt, p);
    const perSample = d * h * w * c;
    const nClasses = this.arch.config.nClasses;
    const shapes = Array.from({ length: deepSupervision ? 5 : 1 }, (_, o) => [n, d >> o, h >> o, w >> o, nClasses]);
    const outs = wasmKernels.withHostArrays([x], shapes, ([data], outArrays) => {
      for (let i = 0; i < n; i++) {
        const slice = (a: Float32Array, per: number): Float32Array => a.subarray(i * per, (i + 1) * per);
        const mine = outArrays.map((a) => slice(a, a.length / n));
        this.run(rt, p, slice(data, perSample), [d, h, w], deepSupervision, mine);
      }
    });
    return outs as tf.Tensor5D[];
  }

  /** Frees the packed weights (they are packed again on the next run). */
  dispose(): void {
    const old = this.packed;
    if (!old) return;
    this.packed = undefined;
    freePackedNetwork(old);
  }
}
