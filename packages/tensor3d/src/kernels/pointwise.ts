/**
 * Pointwise (1x1x1) convolution as a GEMM on the WebAssembly kernels: Y[M,N] = X[M,K] x W[K,N] + bias,
 * optionally followed by exact GELU and/or a residual add, M = voxels (rows, channels-last).
 */
import { Tensor3dError } from '../errors.js';
import { type KernelRuntime } from './runtime.js';
import { GEMM_DEFAULT, GEMM_GELU_KERNEL, GEMM_KERNEL, type GemmShape, gemmTuningName } from './wasm/gen-gemm.js';
import { kernelDefinition } from './wasm/table.js';

/** Options of {@link matmulBias}. */
export interface MatmulOptions {
  /** Per-column bias [N]. */
  bias?: Float32Array;
  /** Apply exact GELU to X W + bias. */
  gelu?: boolean;
  /** Added to X W + bias; [M, N]. Not together with `gelu` (MedNeXt never needs both in one GEMM). */
  residual?: Float32Array;
  /** Register-block variant (`gemm_<mr>x<nrv>` exports) for tuning; default the tuned `gemm`. */
  shape?: GemmShape;
  /** Cap on threads for this call. */
  threads?: number;
}

/** Packs W [K, N] (row-major) into column panels of width 4*nrv, zero-filled past N. */
export function packPanels(w: Float32Array, k: number, n: number, nrv: number): Float32Array {
  const nw = 4 * nrv;
  const panels = Math.ceil(n / nw);
  const out = new Float32Array(panels * k * nw);
  for (let p = 0; p < panels; p++) {
    for (let kk = 0; kk < k; kk++) {
      const base = (p * k + kk) * nw;
      const c0 = p * nw;
      const len = Math.min(nw, n - c0);
      out.set(w.subarray(kk * n + c0, kk * n + c0 + len), base);
    }
  }
  return out;
}

/** Row-tile height so that the A tile (rows x K floats) is about 32 KiB, a multiple of `mr`. */
export function rowTile(k: number, mr: number): number {
  const rows = Math.max(mr, Math.floor(32768 / (k * 4)));
  return Math.max(mr, rows - (rows % mr));
}

/** Pointers of a GEMM whose operands already live in kernel memory. */
export interface GemmPointers {
  a: number;
  packedB: number;
  packedBias: number;
  c: number;
  /** 0 for none */
  residual: number;
}

/** Runs the GEMM on operands already in kernel memory (B and bias packed with {@link packPanels}). */
export function gemmInMemory(
  rt: KernelRuntime,
  p: GemmPointers,
  m: number,
  k: number,
  n: number,
  opts: { gelu?: boolean; shape?: GemmShape; threads?: number } = {},
): void {
  const shape = opts.shape ?? GEMM_DEFAULT;
  if (opts.shape && opts.gelu) {
    throw new Tensor3dError('BAD_ARGUMENT', 'gemmInMemory: GELU is only fused into the default shape');
  }
  const kernel = opts.shape ? kernelDefinition(gemmTuningName(shape)) : opts.gelu ? GEMM_GELU_KERNEL : GEMM_KERNEL;
  const mt = rowTile(k, shape.mr);
  rt.run(
    kernel,
    { a: p.a, bp: p.packedB, bias: p.packedBias, c: p.c, res: p.residual, K: k, N: n, MT: mt },
    { end: m, grain: shape.mr * 4, threads: opts.threads },
  );
}

/** Y = X W + bias (+ GELU, + residual) for X [M, K], W [K, N], both row-major. */
export function matmulBias(
  rt: KernelRuntime,
  x: Float32Array,
  m: number,
  k: number,
  w: Float32Array,
  n: number,
  opts: MatmulOptions = {},
): Float32Array {
  for (const [name, v] of [
    ['M', m],
    ['K', k],
    ['N', n],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new Tensor3dError('BAD_ARGUMENT', `matmulBias: ${name} must be a positive integer, got ${v}`);
  }
  if (x.length !== m * k)
    throw new Tensor3dError('BAD_SHAPE', `matmulBias: x has ${x.length} values, [${m}, ${k}] needs ${m * k}`);
  if (w.length !== k * n)
    throw new Tensor3dError('BAD_SHAPE', `matmulBias: w has ${w.length} values, [${k}, ${n}] needs ${k * n}`);
  if (opts.bias && opts.bias.length !== n)
    throw new Tensor3dError('BAD_SHAPE', `matmulBias: bias has ${opts.bias.length} values, expected ${n}`);
  if (opts.residual && opts.residual.length !== m * n) {
    throw new Tensor3dError('BAD_SHAPE', `matmulBias: residual has ${opts.residual.length} values, expected ${m * n}`);
  }
  if (opts.gelu && opts.residual)
    throw new Tensor3dError('BAD_ARGUMENT', 'matmulBias: pass either gelu or residual, not both');
  const shape = opts.shape ?? GEMM_DEFAULT;
  const nw = 4 * shape.nrv;
  const mark = rt.mark();
  try {
    const packedB = rt.put(packPanels(w, k, n, shape.nrv));
    const bias = new Float32Array(Math.ceil(n / nw) * nw);
    if (opts.bias) bias.set(opts.bias);
    const packedBias = rt.put(bias);
    const a = rt.put(x);
    const residual = opts.residual ? rt.put(opts.residual) : 0;
    const c = rt.alloc(m * n * 4);
    gemmInMemory(rt, { a, packedB, packedBias, c, residual }, m, k, n, opts);
    return rt.f32(c, m * n).slice();
  } finally {
    rt.release(mark);
  }
}

/** Pointwise-conv weights in kernel memory, packed for the GEMM (made by {@link packGemmWeights}). */
export interface PackedGemmWeights {
  k: number;
  n: number;
  /** byte addresses: column panels of W and the padded bias */
  packedB: number;
  packedBias: number;
}

/** Copies W [K, N] (row-major) and an optional bias [N] into kernel memory, packed; kept until {@link freeGemmWeights}. */
export function packGemmWeights(
  rt: KernelRuntime,
  w: Float32Array,
  k: number,
  n: number,
  bias?: Float32Array,
): PackedGemmWeights {
  if (w.length !== k * n)
    throw new Tensor3dError('BAD_SHAPE', `packGemmWeights: w has ${w.length} values, [${k}, ${n}] needs ${k * n}`);
  if (bias && bias.length !== n)
    throw new Tensor3dError('BAD_SHAPE', `packGemmWeights: bias has ${bias.length} values, expected ${n}`);
  const nrv = GEMM_DEFAULT.nrv;
  const panels = packPanels(w, k, n, nrv);
  const paddedBias = new Float32Array(Math.ceil(n / (4 * nrv)) * 4 * nrv);
  if (bias) paddedBias.set(bias);
  const packedB = rt.allocKept(panels.length * 4);
  rt.f32(packedB, panels.length).set(panels);
  const packedBias = rt.allocKept(paddedBias.length * 4);
  rt.f32(packedBias, paddedBias.length).set(paddedBias);
  return { k, n, packedB, packedBias };
}

/** Frees what {@link packGemmWeights} allocated. */
export function freeGemmWeights(rt: KernelRuntime, p: PackedGemmWeights): void {
  rt.free(p.packedB);
  rt.free(p.packedBias);
}
