/**
 * The kernel-heap engine: {@link walkMedNeXt}'s operations on activations that live in the WebAssembly kernels'
 * heap (one sample, channels-last), for inference. Nothing is allocated outside the heap per block, and each
 * buffer is freed the moment its last reader is done (the walk releases what it leaves), so a patch holds only
 * the skip connections and the current block's operands.
 */
import { wasmKernels } from '@mednext-ts/tensor3d';
import { NORM_EPS, type BlockSpec } from '../../../model/architecture.js';
import type { NetworkEngine } from '../../engine.js';
import type { PackedNetwork } from './packed-weights.js';

type KernelRuntime = wasmKernels.KernelRuntime;
type PackedGemm = wasmKernels.PackedGemmWeights;
/** Spatial size `[D, H, W]`. */
export type Spatial = [number, number, number];

/** An activation of the kernel-heap engine: a channels-last buffer in the kernel heap. */
export interface HeapTensor {
  /** Heap address of the buffer (`spatial` voxels x `channels` floats). */
  addr: number;
  spatial: Spatial;
  channels: number;
}

const voxels = (s: Spatial): number => s[0] * s[1] * s[2];

/** {@link NetworkEngine} in the kernel heap; see the module comment. Heads write into host arrays. */
export class KernelHeapEngine implements NetworkEngine<HeapTensor, Float32Array> {
  readonly name = 'kernel-heap';
  /** Every buffer this engine allocated and has not freed (freed by {@link freeAll} after an error). */
  private readonly live = new Set<number>();
  /** The input staged by {@link stage}, which the stem frees once read (0 when none). */
  private staged = 0;

  /**
   * @param net the packed weights
   * @param slabBytes bytes of an up block's depthwise output computed at once (a slab of planes, at least one)
   * @param destination where head `level` writes (an array of exactly its size)
   */
  constructor(
    private readonly rt: KernelRuntime,
    private readonly net: PackedNetwork,
    private readonly slabBytes: number,
    private readonly destination: (level: number, size: number) => Float32Array,
  ) {}

  /**
   * Copies one sample (channels-last, host memory) into the heap as the walk's input. The stem frees that copy as
   * soon as it has read it, so the input never outlives the stem in kernel memory.
   */
  stage(host: Float32Array, spatial: Spatial, channels: number): HeapTensor {
    const t = this.alloc(spatial, channels);
    this.rt.f32(t.addr, host.length).set(host);
    this.staged = t.addr;
    return t;
  }

  stem(x: HeapTensor): HeapTensor {
    const out = this.alloc(x.spatial, this.net.stem.n);
    this.gemm(this.net.stem, x.addr, out.addr, voxels(x.spatial));
    if (x.addr === this.staged) {
      this.free(x.addr);
      this.staged = 0;
    }
    return out;
  }

  /** A plain block, in place of its depthwise output. */
  block(h: HeapTensor, b: BlockSpec): HeapTensor {
    const out = this.alloc(h.spatial, b.cOut);
    wasmKernels.blockInMemory(this.rt, this.packedBlock(b), {
      kind: 'block',
      x: h.addr,
      spatial: h.spatial,
      dwOut: out.addr,
      out: out.addr,
      residual: b.residual ? h.addr : 0,
      eps: NORM_EPS,
    });
    return out;
  }

  /** A down block: the stride-2 res_conv lands in the output buffer, which the block then adds itself to. */
  down(h: HeapTensor, b: BlockSpec): HeapTensor {
    const os = wasmKernels.blockOutSpatial('down', b.kernel, h.spatial);
    const out = this.alloc(os, b.cOut);
    const res = this.net.resConvs.get(b.name);
    if (res) {
      const sub = this.alloc(os, b.cIn);
      wasmKernels.gridGatherInMemory(this.rt, {
        dense: sub.addr,
        denseSpatial: os,
        volume: h.addr,
        volumeSpatial: h.spatial,
        c: b.cIn,
        origin: [0, 0, 0],
        step: 2,
      });
      this.gemm(res, sub.addr, out.addr, voxels(os));
      this.free(sub.addr);
    }
    wasmKernels.blockInMemory(this.rt, this.packedBlock(b), {
      kind: 'down',
      x: h.addr,
      spatial: h.spatial,
      out: out.addr,
      residual: res ? out.addr : 0,
      eps: NORM_EPS,
    });
    return out;
  }

  /**
   * An up block added into its skip connection (which becomes the output): skip[1:, 1:, 1:] += block(x), and
   * skip[1::2, 1::2, 1::2] += res_conv(x) (the transposed stride-2 1x1x1 conv; its bias is in the block's).
   */
  upAdd(h: HeapTensor, b: BlockSpec, skip: HeapTensor): HeapTensor {
    const os = wasmKernels.blockOutSpatial('up', b.kernel, h.spatial);
    if (os.some((n, a) => n + 1 !== skip.spatial[a])) {
      throw new Error(
        `kernel-heap: ${b.name} output ${os.join('x')} does not pad to the skip ${skip.spatial.join('x')}`,
      );
    }
    // A slab of output planes at a time: the block's depthwise output (2x the skip's channels at the skip's size,
    // the largest buffer of the network for up_0) never exists whole.
    const into = { volume: skip.addr, volumeSpatial: skip.spatial, c: b.cOut };
    const slabPlanes = Math.max(1, Math.floor(this.slabBytes / (os[1] * os[2] * b.cIn * 4)));
    wasmKernels.blockInSlabs(this.rt, this.packedBlock(b), {
      kind: 'up',
      x: h.addr,
      spatial: h.spatial,
      slabPlanes,
      eps: NORM_EPS,
      onSlab: (t, z0, z1) =>
        wasmKernels.gridAddInMemory(this.rt, {
          ...into,
          origin: [1 + z0, 1, 1],
          dense: t,
          denseSpatial: [z1 - z0, os[1], os[2]],
          step: 1,
        }),
    });
    const res = this.net.resConvs.get(b.name);
    if (res) {
      const r = this.alloc(h.spatial, b.cOut);
      this.gemm(res, h.addr, r.addr, voxels(h.spatial));
      wasmKernels.gridAddInMemory(this.rt, {
        ...into,
        origin: [1, 1, 1],
        dense: r.addr,
        denseSpatial: h.spatial,
        step: 2,
      });
      this.free(r.addr);
    }
    return skip;
  }

  head(h: HeapTensor, level: number): Float32Array {
    const w = this.net.heads.get(level) as PackedGemm;
    if (w.k !== h.channels) throw new Error(`kernel-heap: head out_${level} takes ${w.k} channels, got ${h.channels}`);
    const out = this.alloc(h.spatial, w.n);
    const size = voxels(h.spatial) * w.n;
    this.gemm(w, h.addr, out.addr, voxels(h.spatial));
    const values = this.destination(level, size);
    values.set(this.rt.f32(out.addr, size));
    this.free(out.addr);
    return values;
  }

  release(x: HeapTensor): void {
    this.free(x.addr);
  }

  /** Frees every buffer still allocated (after an error; a finished walk has released everything). */
  freeAll(): void {
    for (const a of this.live) this.rt.free(a);
    this.live.clear();
  }

  private alloc(spatial: Spatial, channels: number): HeapTensor {
    const addr = this.rt.allocKept(voxels(spatial) * channels * 4);
    this.live.add(addr);
    return { addr, spatial: [...spatial], channels };
  }

  private free(addr: number): void {
    this.live.delete(addr);
    this.rt.free(addr);
  }

  private packedBlock(b: BlockSpec): wasmKernels.PackedBlockWeights {
    const w = this.net.blocks.get(b.name);
    if (!w) throw new Error(`kernel-heap: block ${b.name} was not packed`);
    return w;
  }

  private gemm(w: PackedGemm, a: number, c: number, m: number): void {
    wasmKernels.gemmInMemory(this.rt, { a, packedB: w.packedB, packedBias: w.packedBias, c, residual: 0 }, m, w.k, w.n);
  }
}
