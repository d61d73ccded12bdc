/**
 * The whole MedNeXt forward pass (inference) inside the WebAssembly kernels' memory: stem, every block, the
 * residual 1x1x1 convolutions, the up blocks' front padding, the skip additions and the heads run on
 * `@mednext-ts/tensor3d`'s kernels with every activation in one kernel heap. tfjs sees one input and the
 * outputs; no activation is copied between the two memories, nothing is allocated per block outside the
 * heap, and each buffer is freed the moment its last reader is done, so a patch holds only the skip
 * connections and the current block's operands; the up blocks run a slab of output planes at a time, so their
 * depthwise output (twice the skip's channels) is never whole in memory either.
 *
 * Used by {@link MedNeXt.forward} outside a gradient tape on the host backends with the fast kernels enabled,
 * for networks whose every block the fused kernel takes (no GRN); other cases keep the per-block paths.
 */
import { wasmKernels } from '@mednext-ts/tensor3d';
import { type TorchBlockParams, blockWeightsFromTorch } from '../weights/kernel-layout.js';
import { type Architecture, type BlockSpec, allBlocks } from './architecture.js';
import { fusedBlockSupports } from './fused-blocks.js';
import { NORM_EPS, type ParamGetter } from './layers.js';

type KernelRuntime = wasmKernels.KernelRuntime;
type PackedBlock = wasmKernels.PackedBlockWeights;
type PackedGemm = wasmKernels.PackedGemmWeights;
type Spatial = [number, number, number];

/** Options of {@link HostNetwork}. */
export interface HostNetworkOptions {
  /** Bytes of an up block's depthwise output computed at once (a slab of planes, at least one; default 64 MiB). */
  slabBytes?: number;
}

/** Whether {@link HostNetwork} can run every part of `arch`. */
export function hostNetworkSupports(arch: Architecture): boolean {
  return allBlocks(arch).every(fusedBlockSupports);
}

/** The network's weights packed into kernel memory. */
interface PackedNetwork {
  rt: KernelRuntime;
  /** identity of every parameter's data when packed: a changed parameter swaps its data */
  dataIds: object[];
  stem: PackedGemm;
  blocks: Map<string, PackedBlock>;
  /** res_conv of down blocks (with bias) and up blocks (without: it is folded into the block's compress bias) */
  resConvs: Map<string, PackedGemm>;
  heads: Map<string, PackedGemm>;
}

/** A host copy of a parameter (on wasm, dataSync may return a view of a heap later ops reuse). */
function hostCopy(p: ParamGetter, name: string): Float32Array {
  return (p(name).dataSync() as Float32Array).slice();
}

/** The whole-network forward pass on the kernel runtime (see the module comment). */
export class HostNetwork {
  private packed: PackedNetwork | undefined;

  private readonly slabBytes: number;
  /** Every parameter name the pass reads, in a fixed order (checked on each run to detect changed weights). */
  private readonly names: string[];

  constructor(
    private readonly arch: Architecture,
    options: HostNetworkOptions = {},
  ) {
    this.slabBytes = options.slabBytes ?? 64 * 2 ** 20;
    if (!hostNetworkSupports(arch)) {
      throw new Error('HostNetwork: the fused kernel does not take every block of this network (GRN?)');
    }
    this.names = this.paramNames();
  }

  /** Every parameter name the pass reads, in a fixed order. */
  private paramNames(): string[] {
    const names = ['stem.weight', 'stem.bias'];
    const parts = ['conv1.weight', 'conv1.bias', 'norm.weight', 'norm.bias', 'conv2.weight', 'conv2.bias'];
    for (const b of allBlocks(this.arch)) {
      names.push(...parts.map((s) => `${b.name}.${s}`), `${b.name}.conv3.weight`, `${b.name}.conv3.bias`);
      if (b.kind !== 'block' && b.residual) names.push(`${b.name}.res_conv.weight`, `${b.name}.res_conv.bias`);
    }
    for (const h of this.arch.heads) names.push(`${h.name}.conv_out.weight`, `${h.name}.conv_out.bias`);
    return names;
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
    const { inChannels, nChannels, nClasses } = this.arch.config;
    const gemm = (w: Float32Array, k: number, n: number, bias?: Float32Array): PackedGemm =>
      wasmKernels.packGemmWeights(rt, w, k, n, bias);
    const packed: PackedNetwork = {
      rt,
      dataIds,
      // Conv3d weight [C, in, 1, 1, 1] -> [in, C]
      stem: gemm(
        wasmKernels.transposeMatrix(hostCopy(p, 'stem.weight'), nChannels, inChannels),
        inChannels,
        nChannels,
        hostCopy(p, 'stem.bias'),
      ),
      blocks: new Map(),
      resConvs: new Map(),
      heads: new Map(),
    };
    this.packed = packed;
    for (const b of allBlocks(this.arch)) {
      const get = (s: string): Float32Array => hostCopy(p, `${b.name}.${s}`);
      const torch: TorchBlockParams = {
        conv1Weight: get('conv1.weight'),
        conv1Bias: get('conv1.bias'),
        normWeight: get('norm.weight'),
        normBias: get('norm.bias'),
        conv2Weight: get('conv2.weight'),
        conv2Bias: get('conv2.bias'),
        conv3Weight: get('conv3.weight'),
        conv3Bias: get('conv3.bias'),
      };
      const weights = blockWeightsFromTorch(torch, b.kernel);
      const upResBias = b.kind === 'up' && b.residual ? get('res_conv.bias') : undefined;
      packed.blocks.set(b.name, wasmKernels.packBlockWeights(rt, weights, upResBias));
      if (b.kind === 'down' && b.residual) {
        // Conv3d [2C, C] -> [C, 2C]
        const w = wasmKernels.transposeMatrix(get('res_conv.weight'), b.cOut, b.cIn);
        packed.resConvs.set(b.name, gemm(w, b.cIn, b.cOut, get('res_conv.bias')));
      } else if (b.kind === 'up' && b.residual) {
        // ConvTranspose3d weight is already [in, out]
        packed.resConvs.set(b.name, gemm(get('res_conv.weight'), b.cIn, b.cOut));
      }
    }
    for (const h of this.arch.heads) {
      const w = hostCopy(p, `${h.name}.conv_out.weight`); // ConvTranspose3d: [cIn, nClasses]
      packed.heads.set(h.name, gemm(w, h.cIn, nClasses, hostCopy(p, `${h.name}.conv_out.bias`)));
    }
    return packed;
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
    const arch = this.arch;
    const { inChannels, nChannels, nClasses } = arch.config;
    const voxels = (s: Spatial): number => s[0] * s[1] * s[2];
    if (x.length !== voxels(spatial) * inChannels) {
      throw new Error(
        `HostNetwork.run: x has ${x.length} values, ${spatial.join('x')}x${inChannels} needs ${voxels(spatial) * inChannels}`,
      );
    }
    const live = new Set<number>();
    const alloc = (floats: number): number => {
      const a = rt.allocKept(floats * 4);
      live.add(a);
      return a;
    };
    const free = (a: number): void => {
      live.delete(a);
      rt.free(a);
    };
    const gemm = (w: PackedGemm, a: number, c: number, m: number): void =>
      wasmKernels.gemmInMemory(rt, { a, packedB: w.packedB, packedBias: w.packedBias, c, residual: 0 }, m, w.k, w.n);
    const block = (b: BlockSpec): PackedBlock => net.blocks.get(b.name) as PackedBlock;

    /** A plain block, in place of its depthwise output (input freed). */
    const plain = (b: BlockSpec, h: number, s: Spatial): number => {
      const out = alloc(voxels(s) * b.cOut);
      wasmKernels.blockInMemory(rt, block(b), {
        kind: 'block',
        x: h,
        spatial: s,
        dwOut: out,
        out,
        residual: b.residual ? h : 0,
        eps: NORM_EPS,
      });
      free(h);
      return out;
    };
    /** A down block: the stride-2 res_conv lands in the output buffer, which the block then adds itself to. */
    const down = (b: BlockSpec, h: number, s: Spatial): { h: number; s: Spatial } => {
      const os = wasmKernels.blockOutSpatial('down', b.kernel, s);
      const out = alloc(voxels(os) * b.cOut);
      const res = net.resConvs.get(b.name);
      if (res) {
        const sub = alloc(voxels(os) * b.cIn);
        wasmKernels.gridGatherInMemory(rt, {
          dense: sub,
          denseSpatial: os,
          volume: h,
          volumeSpatial: s,
          c: b.cIn,
          origin: [0, 0, 0],
          step: 2,
        });
        gemm(res, sub, out, voxels(os));
        free(sub);
      }
      wasmKernels.blockInMemory(rt, block(b), {
        kind: 'down',
        x: h,
        spatial: s,
        out,
        residual: res ? out : 0,
        eps: NORM_EPS,
      });
      return { h: out, s: os };
    };
    /**
     * An up block added into its skip connection (which becomes the output): skip[1:, 1:, 1:] += block(h), and
     * skip[1::2, 1::2, 1::2] += res_conv(h) (the transposed stride-2 1x1x1 conv; its bias is in the block's).
     */
    const up = (b: BlockSpec, h: number, s: Spatial, skip: { h: number; s: Spatial }): number => {
      const os = wasmKernels.blockOutSpatial('up', b.kernel, s);
      if (os.some((n, a) => n + 1 !== skip.s[a])) {
        throw new Error(`HostNetwork: ${b.name} output ${os.join('x')} does not pad to the skip ${skip.s.join('x')}`);
      }
      // A slab of output planes at a time: the block's depthwise output (2x the skip's channels at the skip's size,
      // the largest buffer of the network for up_0) never exists whole.
      const into = { volume: skip.h, volumeSpatial: skip.s, c: b.cOut };
      const slabPlanes = Math.max(1, Math.floor(this.slabBytes / (os[1] * os[2] * b.cIn * 4)));
      wasmKernels.blockInSlabs(rt, block(b), {
        kind: 'up',
        x: h,
        spatial: s,
        slabPlanes,
        eps: NORM_EPS,
        onSlab: (t, z0, z1) =>
          wasmKernels.gridAddInMemory(rt, {
            ...into,
            origin: [1 + z0, 1, 1],
            dense: t,
            denseSpatial: [z1 - z0, os[1], os[2]],
            step: 1,
          }),
      });
      const res = net.resConvs.get(b.name);
      if (res) {
        const r = alloc(voxels(s) * b.cOut);
        gemm(res, h, r, voxels(s));
        wasmKernels.gridAddInMemory(rt, { ...into, origin: [1, 1, 1], dense: r, denseSpatial: s, step: 2 });
        free(r);
      }
      free(h);
      return skip.h;
    };
    /** Where head `index` (0 = main, j = out_j) goes: the caller's array, or a new one. */
    const destination = (index: number, size: number): Float32Array => {
      const dst = outputs?.[index];
      if (!dst) return new Float32Array(size);
      if (dst.length !== size)
        throw new Error(`HostNetwork.run: output ${index} has ${dst.length} values, expected ${size}`);
      return dst;
    };
    const head = (name: string, index: number, h: number, s: Spatial, cIn: number): Float32Array => {
      const w = net.heads.get(name) as PackedGemm;
      if (w.k !== cIn) throw new Error(`HostNetwork: head ${name} takes ${w.k} channels, got ${cIn}`);
      const out = alloc(voxels(s) * nClasses);
      gemm(w, h, out, voxels(s));
      const values = destination(index, voxels(s) * nClasses);
      values.set(rt.f32(out, voxels(s) * nClasses));
      free(out);
      return values;
    };

    try {
      const x0 = alloc(x.length);
      rt.f32(x0, x.length).set(x);
      let s: Spatial = [...spatial];
      let h = alloc(voxels(s) * nChannels);
      gemm(net.stem, x0, h, voxels(s));
      free(x0);
      const skips: Array<{ h: number; s: Spatial }> = [];
      for (let j = 0; j < 4; j++) {
        for (const b of arch.encoders[j]) h = plain(b, h, s);
        skips.push({ h, s });
        ({ h, s } = down(arch.downs[j], h, s));
      }
      for (const b of arch.bottleneck) h = plain(b, h, s);
      const dsOut: Float32Array[] = [];
      if (deepSupervision) dsOut.push(head('out_4', 4, h, s, arch.bottleneck[0].cOut));
      for (let i = 0; i < 4; i++) {
        const j = 3 - i;
        const skip = skips[j];
        h = up(arch.ups[i], h, s, skip);
        s = skip.s;
        for (const b of arch.decoders[i]) h = plain(b, h, s);
        if (deepSupervision && j > 0) dsOut.push(head(`out_${j}`, j, h, s, arch.ups[i].cOut));
      }
      const main = head('out_0', 0, h, s, nChannels);
      return [main, ...dsOut.reverse()];
    } finally {
      for (const a of live) rt.free(a);
    }
  }

  /** Frees the packed weights (they are packed again on the next run). */
  dispose(): void {
    const old = this.packed;
    if (!old) return;
    this.packed = undefined;
    wasmKernels.freeGemmWeights(old.rt, old.stem);
    for (const w of old.blocks.values()) wasmKernels.freeBlockWeights(old.rt, w);
    for (const w of [...old.resConvs.values(), ...old.heads.values()]) wasmKernels.freeGemmWeights(old.rt, w);
  }
}
