/**
 * The fused inverted bottleneck of ConvNeXt-style blocks, per tile of voxels:
 *
 *     y = W3 · act(W2 · norm(x) + b2) + b3 (+ residual)
 *
 * with `norm` the per-channel normalisation (statistics from groupNormStats, affine gamma/beta), `act` the
 * exact GELU, optionally followed by a per-channel affine of the expanded tensor (GRN's scale and shift). The
 * expanded tensor (E channels, often 4x the input) exists only in workgroup memory, one chunk of EC channels
 * at a time: it is never written whole to global memory.
 *
 * A second mode (`grn: 'stats'`) stops after the activation and writes, per tile, the sum of squares of each
 * expanded channel — the inputs of GRN's global L2 norm (see grnScale).
 *
 * Layout: channels-first [C, voxels], one sample. Weights in PyTorch layout: W2 [E, C], W3 [CO, E].
 */
import { defineKernel, WGSL_GELU } from '../kernel.js';
import type { GpuRuntime, GpuTensor } from '../runtime.js';

const WORKGROUP = 128;

/** Shape of one bottleneck. */
export interface InvertedBottleneckShape {
  /** Input channels C. */
  channels: number;
  /** Expanded channels E. */
  expanded: number;
  /** Output channels CO. */
  outChannels: number;
  /** Add a residual tensor [CO, voxels] to the output. */
  residual: boolean;
  /** `none`; `apply`: affine of the expanded tensor after the GELU; `stats`: write GRN sums of squares only. */
  grn: 'none' | 'apply' | 'stats';
}

/**
 * Compile-time constants of the kernel: one pipeline per tiling class, not per channel count (channel counts
 * are uniforms), so a network compiles a handful of pipelines.
 */
export interface BottleneckVariant {
  /** Voxels per tile (= per workgroup), a power of two from 4 to 64. */
  tileVoxels: number;
  /** Output channels per thread in the compression (registers). */
  outPerThread: number;
  residual: boolean;
  grn: 'none' | 'apply' | 'stats';
}

/** Floats of workgroup memory for the normalised input tile [C, TV] and for the expanded chunk [EC, TV]. */
const INPUT_TILE = 2048;
const EXPANDED_TILE = 1024;

/**
 * How a shape is tiled: voxels per tile, expanded channels per chunk, output channels per thread. Workgroup
 * memory stays at 12 KiB, below the 16 KiB every WebGPU adapter offers.
 */
export function bottleneckTiling(s: Pick<InvertedBottleneckShape, 'channels' | 'expanded' | 'outChannels'>): {
  tileVoxels: number;
  chunk: number;
  outPerThread: number;
} {
  if (s.channels * 4 > INPUT_TILE) {
    throw new Error(`invertedBottleneck: at most ${INPUT_TILE / 4} input channels, got ${s.channels}`);
  }
  let tileVoxels = 64;
  while (tileVoxels > 4 && tileVoxels * Math.max(s.channels, s.outChannels) > INPUT_TILE) tileVoxels /= 2;
  const chunk = EXPANDED_TILE / tileVoxels;
  // Compression: TV / 4 threads along voxels (4 voxels each), the rest along output channels.
  const channelThreads = WORKGROUP / (tileVoxels / 4);
  return { tileVoxels, chunk, outPerThread: Math.ceil(s.outChannels / channelThreads) };
}

/** The kernel declaration. */
export const invertedBottleneckKernel = defineKernel({
  name: 'invertedBottleneck',
  workgroupSize: WORKGROUP,
  params: {
    voxels: { type: 'u32', doc: 'spatial voxels (columns of every [channels, voxels] tensor)' },
    channels: { type: 'u32', doc: 'input channels C' },
    expanded: { type: 'u32', doc: 'expanded channels E' },
    outChannels: { type: 'u32', doc: 'output channels CO' },
  },
  // At most 8 storage bindings (the WebGPU default limit per stage): the per-channel vectors share one buffer.
  bindings: (s: BottleneckVariant) => [
    { name: 'input', access: 'read', doc: 'x [C, voxels]' },
    { name: 'stats', access: 'read', doc: 'normalisation statistics [C, 2]: mean, 1/sqrt(var + eps)' },
    { name: 'vectors', access: 'read', doc: 'norm gamma [C], norm beta [C], b2 [E], b3 [CO] (packBottleneckVectors)' },
    { name: 'w2', access: 'read', doc: 'expansion weight [E, C]' },
    ...(s.grn === 'stats' ? [] : [{ name: 'w3', access: 'read' as const, doc: 'compression weight [CO, E]' }]),
    ...(s.grn === 'apply' ? [{ name: 'grnAffine', access: 'read' as const, doc: '[E, 2]: scale, shift' }] : []),
    ...(s.residual && s.grn !== 'stats'
      ? [{ name: 'residual', access: 'read' as const, doc: 'added to the output [CO, voxels]' }]
      : []),
    s.grn === 'stats'
      ? { name: 'output', access: 'read_write' as const, doc: 'sums of squares [tiles, E]' }
      : { name: 'output', access: 'read_write' as const, doc: 'y [CO, voxels]' },
  ],
  body: (s: BottleneckVariant) => {
    const TV = s.tileVoxels;
    const EC = EXPANDED_TILE / TV;
    const ROWS = WORKGROUP / TV;
    const RE = EC / ROWS;
    const NVT = TV / 4;
    const NCT = WORKGROUP / NVT;
    const RCO = s.outPerThread;
    const affine = s.grn === 'apply' ? 'g = g * grnAffine[2u * e] + grnAffine[2u * e + 1u];' : '';
    const stats = /* wgsl */ `
    for (var el = local; el < EC; el += ${WORKGROUP}u) {
      if (e0 + el < E) {
        var sq = 0.0;
        for (var v = 0u; v < TV; v++) { let h = hs[el * TV + v]; sq += h * h; }
        output[group * E + e0 + el] = sq;
      }
    }`;
    const compress = /* wgsl */ `
    let chunkEnd = min(EC, E - e0);
    for (var el = 0u; el < chunkEnd; el++) {
      var hv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { hv[i] = hs[el * TV + vt + i * NVT]; }
      for (var j = 0u; j < RCO; j++) {
        let w = w3[min(ct + j * NCT, CO - 1u) * E + e0 + el];
        for (var i = 0u; i < 4u; i++) { acc[j * 4u + i] += w * hv[i]; }
      }
    }`;
    const write =
      s.grn === 'stats'
        ? ''
        : /* wgsl */ `
  for (var j = 0u; j < RCO; j++) {
    let co = ct + j * NCT;
    if (co >= CO) { continue; }
    for (var i = 0u; i < 4u; i++) {
      let vox = tileStart + vt + i * NVT;
      if (vox < V) {
        let o = co * V + vox;
        output[o] = acc[j * 4u + i] + vectors[2u * C + E + co]${s.residual ? ' + residual[o]' : ''};
      }
    }
  }`;
    return /* wgsl */ `
${WGSL_GELU}
const TV: u32 = ${TV}u;    // voxels per tile (one workgroup)
const EC: u32 = ${EC}u;    // expanded channels per chunk
const ROWS: u32 = ${ROWS}u; // expansion: threads per voxel column
const RE: u32 = ${RE}u;    // expansion: outputs per thread
const NVT: u32 = ${NVT}u;  // compression: threads along voxels (4 voxels each)
const NCT: u32 = ${NCT}u;  // compression: threads along output channels
const RCO: u32 = ${RCO}u;  // compression: output channels per thread
var<workgroup> xs: array<f32, ${INPUT_TILE}>;    // normalised input tile [C, TV]
var<workgroup> hs: array<f32, ${EXPANDED_TILE}>; // activated expanded chunk [EC, TV]
fn main(group: u32, local: u32) {
  let V = params.voxels;
  let C = params.channels;
  let E = params.expanded;
  let CO = params.outChannels;
  let tileStart = group * TV;
  for (var i = local; i < C * TV; i += ${WORKGROUP}u) {
    let c = i / TV;
    let vox = tileStart + i % TV;
    var xn = 0.0;
    if (vox < V) { xn = (input[c * V + vox] - stats[2u * c]) * stats[2u * c + 1u] * vectors[c] + vectors[C + c]; }
    xs[i] = xn;
  }
  let ev = local % TV;
  let erow = local / TV;
  let vt = local % NVT;
  let ct = local / NVT;
  // Explicit zeroing: some compilers (SwiftShader's) do not re-zero an uninitialised var declared in a loop.
  var acc: array<f32, ${RCO * 4}>;
  for (var j = 0u; j < ${RCO * 4}u; j++) { acc[j] = 0.0; }
  for (var e0 = 0u; e0 < E; e0 += EC) {
    // The input tile is loaded / the previous chunk has been consumed.
    workgroupBarrier();
    var h: array<f32, ${RE}>;
    for (var j = 0u; j < RE; j++) { h[j] = 0.0; }
    for (var c = 0u; c < C; c++) {
      let xv = xs[c * TV + ev];
      for (var j = 0u; j < RE; j++) {
        h[j] += xv * w2[min(e0 + erow + j * ROWS, E - 1u) * C + c];
      }
    }
    for (var j = 0u; j < RE; j++) {
      let el = erow + j * ROWS;
      let e = e0 + el;
      var g = 0.0;
      if (e < E && tileStart + ev < V) {
        g = gelu(h[j] + vectors[2u * C + e]);
        ${affine}
      }
      hs[el * TV + ev] = g;
    }
    workgroupBarrier();
    ${s.grn === 'stats' ? stats : compress}
  }
  ${write}
}
`;
  },
});

/** Arguments of {@link invertedBottleneck}. */
export interface InvertedBottleneckArgs {
  /** x [C, voxels] (before normalisation). */
  input: GpuTensor;
  /** Its per-channel statistics [C, 2] (groupNormStats). */
  stats: GpuTensor;
  /** Norm gamma [C], norm beta [C], expansion bias [E], compression bias [CO], packed ({@link packBottleneckVectors}). */
  vectors: GpuTensor;
  /** Expansion weight [E, C]. */
  w2: GpuTensor;
  /** Compression weight [CO, E] (not needed with `grn: 'stats'`). */
  w3?: GpuTensor;
  /** With `grn: 'apply'`: scale and shift of each expanded channel [E, 2] (grnScale). */
  grnAffine?: GpuTensor;
  /** Added to the output [CO, voxels]. */
  residual?: GpuTensor;
  /** y [CO, voxels]; with `grn: 'stats'`, the sums of squares [tiles, E] (see {@link bottleneckTiles}). */
  output: GpuTensor;
  /** Channels C, E, CO. */
  channels: number;
  expanded: number;
  outChannels: number;
  /** Spatial voxels. */
  voxels: number;
  /** GRN mode (default `none`). */
  grn?: 'none' | 'apply' | 'stats';
}

/** Packs the per-channel vectors of a bottleneck into the one buffer the kernel reads: gamma, beta, b2, b3. */
export function packBottleneckVectors(v: {
  gamma: Float32Array;
  beta: Float32Array;
  b2: Float32Array;
  b3: Float32Array;
}): Float32Array {
  if (v.gamma.length !== v.beta.length) throw new Error('packBottleneckVectors: gamma and beta differ in length');
  const out = new Float32Array(2 * v.gamma.length + v.b2.length + v.b3.length);
  out.set(v.gamma, 0);
  out.set(v.beta, v.gamma.length);
  out.set(v.b2, 2 * v.gamma.length);
  out.set(v.b3, 2 * v.gamma.length + v.b2.length);
  return out;
}

/** Number of voxel tiles (rows of the GRN sums of squares) for a shape and voxel count. */
export function bottleneckTiles(
  s: Pick<InvertedBottleneckShape, 'channels' | 'expanded' | 'outChannels'>,
  voxels: number,
): number {
  return Math.ceil(voxels / bottleneckTiling(s).tileVoxels);
}

/** Records the fused bottleneck. */
export function invertedBottleneck(rt: GpuRuntime, a: InvertedBottleneckArgs): void {
  const grn = a.grn ?? 'none';
  const tiling = bottleneckTiling(a);
  const tiles = Math.ceil(a.voxels / tiling.tileVoxels);
  const check = (t: GpuTensor | undefined, n: number, what: string): void => {
    if (!t) throw new Error(`invertedBottleneck: ${what} is required`);
    if (t.length !== n) throw new Error(`invertedBottleneck: ${what} has ${t.length} elements, expected ${n}`);
  };
  check(a.input, a.channels * a.voxels, 'input');
  check(a.stats, 2 * a.channels, 'stats');
  check(a.w2, a.expanded * a.channels, 'w2');
  check(a.vectors, 2 * a.channels + a.expanded + a.outChannels, 'vectors');
  const bindings: Record<string, GpuTensor> = {
    input: a.input,
    stats: a.stats,
    vectors: a.vectors,
    w2: a.w2,
    output: a.output,
  };
  if (grn === 'stats') {
    check(a.output, tiles * a.expanded, 'output (GRN sums)');
  } else {
    check(a.w3, a.outChannels * a.expanded, 'w3');
    check(a.output, a.outChannels * a.voxels, 'output');
    bindings.w3 = a.w3 as GpuTensor;
    if (grn === 'apply') {
      check(a.grnAffine, 2 * a.expanded, 'grnAffine');
      bindings.grnAffine = a.grnAffine as GpuTensor;
    }
    if (a.residual) {
      check(a.residual, a.outChannels * a.voxels, 'residual');
      bindings.residual = a.residual;
    }
  }
  const variant: BottleneckVariant = {
    tileVoxels: tiling.tileVoxels,
    outPerThread: grn === 'stats' ? 1 : tiling.outPerThread,
    residual: grn !== 'stats' && !!a.residual,
    grn,
  };
  rt.run(
    invertedBottleneckKernel,
    variant,
    { voxels: a.voxels, channels: a.channels, expanded: a.expanded, outChannels: a.outChannels },
    bindings,
    tiles,
  );
}
