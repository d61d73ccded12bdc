/**
 * Assembles every kernel into one WebAssembly module (generated at load time, a few tens of KB), and
 * detects whether the runtime accepts relaxed SIMD (fused multiply-add).
 */
import { ModuleBuilder, fma, get, set } from './encoder.js';
import { depthwiseName, emitDepthwise } from './gen-depthwise.js';
import { emitGelu, emitGroupNormApply, emitGroupNormStats } from './gen-elementwise.js';
import { GEMM_DEFAULT, type GemmShape, emitGemm } from './gen-gemm.js';
import { emitBlockTail } from './gen-block.js';
import { emitDepthwiseFilterGrad } from './gen-depthwise-filter-grad.js';
import { emitGridKernel } from './gen-grid.js';
import {
  emitAffine2,
  emitBlockTailBackward,
  emitColsumAcc,
  emitGeluGrad,
  emitGemmTnAcc,
  emitMulInto,
  emitNormGrad,
} from './gen-block-backward.js';

/** Kernel sizes with a generated depthwise kernel. */
export const DEPTHWISE_KERNEL_SIZES = [3, 5, 7] as const;

/** Extra GEMM register-block shapes exported as `gemm_<mr>x<nrv>` for tuning benchmarks. */
export const GEMM_TUNING_SHAPES: GemmShape[] = [
  { mr: 4, nrv: 2, ku: 4 },
  { mr: 6, nrv: 2, ku: 4 },
  { mr: 3, nrv: 4, ku: 4 },
  { mr: 4, nrv: 4, ku: 4 },
  { mr: 2, nrv: 4, ku: 4 },
  { mr: 8, nrv: 1, ku: 4 },
];

export function gemmTuningName(s: GemmShape): string {
  return `gemm_${s.mr}x${s.nrv}`;
}

/** The kernel module bytes and the constant pool its code loads from memory. */
export interface KernelModuleBytes {
  bytes: Uint8Array;
  /** to be written at CONST_POOL_BASE before any kernel runs */
  constants: Float32Array;
}

/** Builds the kernel module bytes. */
export function buildKernelModule(options: { relaxed: boolean; shared: boolean; maxPages: number }): KernelModuleBytes {
  const m = new ModuleBuilder(options.relaxed);
  for (const k of DEPTHWISE_KERNEL_SIZES) {
    emitDepthwise(m, { k, stride: 1, transposed: false });
    emitDepthwise(m, { k, stride: 2, transposed: false });
    emitDepthwise(m, { k, stride: 2, transposed: true });
    emitDepthwiseFilterGrad(m, k, 1);
    emitDepthwiseFilterGrad(m, k, 2);
  }
  emitGemm(m, 'gemm', GEMM_DEFAULT, false);
  emitGemm(m, 'gemm_gelu', GEMM_DEFAULT, true);
  for (const s of GEMM_TUNING_SHAPES) emitGemm(m, gemmTuningName(s), s, false);
  emitGelu(m);
  emitGelu(m, 'rational');
  emitGroupNormStats(m);
  emitGroupNormApply(m);
  emitBlockTail(m);
  emitGridKernel(m, 'add');
  emitGridKernel(m, 'gather');
  emitGemmTnAcc(m);
  emitGeluGrad(m);
  emitMulInto(m);
  emitColsumAcc(m);
  emitNormGrad(m);
  emitAffine2(m);
  emitBlockTailBackward(m);
  return { bytes: m.encode(options.shared, options.maxPages), constants: m.pool.bytes() };
}

let relaxedCache: boolean | undefined;

/**
 * Whether this runtime validates `f32x4.relaxed_madd` (Chrome 114+, Firefox 145+, Node 22+; Node 20 only
 * with `--experimental-wasm-relaxed-simd`).
 */
export function hasRelaxedSimd(): boolean {
  if (relaxedCache === undefined) {
    const m = new ModuleBuilder(true);
    const f = m.func('probe', ['v128'], ['v128']);
    f.run(set(f.params[0], fma(get(f.params[0]), get(f.params[0]), get(f.params[0]))), get(f.params[0]));
    relaxedCache = WebAssembly.validate(m.encode(false, 1) as BufferSource);
  }
  return relaxedCache;
}

/** Whether this runtime has fixed-width WebAssembly SIMD. */
export function hasWasmSimd128(): boolean {
  const m = new ModuleBuilder(false);
  const f = m.func('probe', ['v128'], ['v128']);
  f.run(get(f.params[0]));
  return WebAssembly.validate(m.encode(false, 1) as BufferSource);
}

export { depthwiseName };
