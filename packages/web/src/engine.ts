/**
 * The compute engine of the inference worker: tfjs-wasm with the project's WebAssembly SIMD kernels on a
 * thread pool inside this worker (the pool blocks on `Atomics.wait`, which only workers may do).
 *
 * The WebGPU engine is not used yet: the web app runs the same WebAssembly kernels as the CLI on CPUs, so
 * its results are the CLI's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend, wasmKernels } from '@mednext-ts/tensor3d';
// tfjs-wasm's binaries, bundled next to the page (hashed names), so nothing is fetched from elsewhere.
import plainWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';

// tfjs-wasm's own threads are not used: the heavy ops run on the project's kernels and their pool, and
// tfjs-wasm's pthread workers are built from its source text, which minification breaks.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
// setWasmPaths insists on an entry for every binary; the threaded one is never fetched with threads off.
setWasmPaths({
  'tfjs-backend-wasm.wasm': plainWasm,
  'tfjs-backend-wasm-simd.wasm': simdWasm,
  'tfjs-backend-wasm-threaded-simd.wasm': simdWasm,
});

/** The engine in use. */
export interface Engine {
  backend: string;
  threads: number;
  fma: boolean;
  /** Why fewer threads than asked for run, if so. */
  fallbackReason?: string;
}

let current: { engine: Engine; runtime: wasmKernels.KernelRuntime; key: string } | undefined;

/** Default kernel threads: the machine's logical cores, at most 8. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1));
}

/**
 * Sets up tfjs-wasm and registers the WebAssembly kernels with `threads` threads and FMA as asked; reuses
 * the running setup when nothing changed.
 */
export async function setupEngine(threads: number, fma: boolean | 'auto'): Promise<Engine> {
  const key = `${threads}/${fma}`;
  if (current?.key === key) return current.engine;
  if (current) {
    wasmKernels.unregisterFastKernels();
    await current.runtime.dispose();
    current = undefined;
  }
  const choice = await selectBackend('wasm', { fastKernels: false });
  const runtime = await wasmKernels.createKernelRuntime({ threads, relaxedSimd: fma });
  wasmKernels.registerFastKernels({ runtime, backends: ['wasm'] });
  const engine: Engine = {
    backend: choice.tfjsName,
    threads: runtime.activeThreads,
    fma: runtime.relaxedSimd,
    ...(runtime.fallbackReason ? { fallbackReason: runtime.fallbackReason } : {}),
  };
  current = { engine, runtime, key };
  return engine;
}
