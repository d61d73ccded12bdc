/**
 * Assembles the kernels of a table (by default {@link KERNEL_TABLE}: every kernel, generated at load time, a
 * few tens of KB) into one WebAssembly module, and detects whether the runtime accepts relaxed SIMD (fused
 * multiply-add).
 */
import { ModuleBuilder, fma, get, set } from './encoder.js';
import { emitKernel } from './kernel-def.js';
import { KERNEL_TABLE, type KernelTable, checkKernelTable } from './table.js';

/** The kernel module bytes and the constant pool its code loads from memory. */
export interface KernelModuleBytes {
  bytes: Uint8Array;
  /** to be written at CONST_POOL_BASE before any kernel runs */
  constants: Float32Array;
}

/** Builds the module of `table`'s kernels, in table order (function index = position in the table). */
export function buildKernelModule(options: {
  relaxed: boolean;
  shared: boolean;
  maxPages: number;
  table?: KernelTable;
}): KernelModuleBytes {
  const table = options.table ?? KERNEL_TABLE;
  checkKernelTable(table);
  const m = new ModuleBuilder(options.relaxed);
  for (const def of table) emitKernel(m, def);
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
