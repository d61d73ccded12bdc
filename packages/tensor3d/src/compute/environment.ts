/** Facts about the JavaScript runtime that decide which compute paths can work. */

/** True under Node.js (as opposed to a browser or a worker in one). */
export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

// Smallest modules that use a SIMD instruction (v128 const) / a relaxed-SIMD one / shared memory.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 11,
]);
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15,
  253, 128, 2, 11,
]);

/** Whether the runtime validates WebAssembly fixed-width SIMD (v128). */
export function hasWasmSimd(): boolean {
  return typeof WebAssembly !== 'undefined' && WebAssembly.validate(SIMD_PROBE);
}

/** Whether the runtime validates relaxed SIMD (`i8x16.relaxed_swizzle`), which brings FMA. */
export function hasWasmRelaxedSimd(): boolean {
  return typeof WebAssembly !== 'undefined' && WebAssembly.validate(RELAXED_SIMD_PROBE);
}

/**
 * Whether WebAssembly threads can work: shared memory must exist, and in browsers the page
 * must be cross-origin isolated. Node needs no isolation (worker_threads share memory).
 */
export function hasWasmThreads(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof WebAssembly === 'undefined') return false;
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    if (!(memory.buffer instanceof SharedArrayBuffer)) return false;
  } catch {
    return false;
  }
  if (isNode()) return true;
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/** Number of logical cores the runtime reports (1 when it says nothing). */
export function hardwareConcurrency(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  return 1;
}
