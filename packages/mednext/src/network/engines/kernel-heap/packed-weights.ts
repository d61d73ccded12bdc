/**
 * A network's weights packed into the WebAssembly kernel heap for the kernel-heap engine, converted from the
 * PyTorch-layout parameters once and repacked only when a parameter's data changes.
 */
import { wasmKernels } from '@mednext-ts/tensor3d';
import { allBlocks, type Architecture } from '../../../model/architecture.js';
import { blockWeightsFromTorch } from '../../../weights/kernel-layout.js';
import { torchBlockParams } from '../tfjs/fused-kernel-block.js';
import type { ParamGetter } from '../tfjs/layers.js';

type KernelRuntime = wasmKernels.KernelRuntime;
type PackedBlock = wasmKernels.PackedBlockWeights;
type PackedGemm = wasmKernels.PackedGemmWeights;

/** The network's weights in kernel memory. */
export interface PackedNetwork {
  rt: KernelRuntime;
  /** identity of every parameter's data when packed: a changed parameter swaps its data */
  dataIds: object[];
  stem: PackedGemm;
  blocks: Map<string, PackedBlock>;
  /** res_conv of down blocks (with bias) and up blocks (without: it is folded into the block's compress bias) */
  resConvs: Map<string, PackedGemm>;
  /** heads by level (0 = main) */
  heads: Map<number, PackedGemm>;
}

/** Every parameter name the kernel-heap pass reads, in a fixed order. */
export function packedParamNames(arch: Architecture): string[] {
  const names = ['stem.weight', 'stem.bias'];
  const parts = ['conv1.weight', 'conv1.bias', 'norm.weight', 'norm.bias', 'conv2.weight', 'conv2.bias'];
  for (const b of allBlocks(arch)) {
    names.push(...parts.map((s) => `${b.name}.${s}`), `${b.name}.conv3.weight`, `${b.name}.conv3.bias`);
    if (b.kind !== 'block' && b.residual) names.push(`${b.name}.res_conv.weight`, `${b.name}.res_conv.bias`);
  }
  for (const h of arch.heads) names.push(`${h.name}.conv_out.weight`, `${h.name}.conv_out.bias`);
  return names;
}

/** A host copy of a parameter (on wasm, dataSync may return a view of a heap later ops reuse). */
function hostCopy(p: ParamGetter, name: string): Float32Array {
  return (p(name).dataSync() as Float32Array).slice();
}

/** Packs every weight of `arch` into `rt`'s memory (`dataIds`: see {@link PackedNetwork}). */
export function packNetwork(rt: KernelRuntime, arch: Architecture, p: ParamGetter, dataIds: object[]): PackedNetwork {
  const { inChannels, nChannels, nClasses } = arch.config;
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
  for (const b of allBlocks(arch)) {
    const get = (s: string): Float32Array => hostCopy(p, `${b.name}.${s}`);
    const weights = blockWeightsFromTorch(torchBlockParams(b, p), b.kernel);
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
  arch.heads.forEach((h, level) => {
    const w = hostCopy(p, `${h.name}.conv_out.weight`); // ConvTranspose3d: [cIn, nClasses]
    packed.heads.set(level, gemm(w, h.cIn, nClasses, hostCopy(p, `${h.name}.conv_out.bias`)));
  });
  return packed;
}

/** Frees every packed weight of `packed`. */
export function freePackedNetwork(packed: PackedNetwork): void {
  wasmKernels.freeGemmWeights(packed.rt, packed.stem);
  for (const w of packed.blocks.values()) wasmKernels.freeBlockWeights(packed.rt, w);
  for (const w of [...packed.resConvs.values(), ...packed.heads.values()]) wasmKernels.freeGemmWeights(packed.rt, w);
}
