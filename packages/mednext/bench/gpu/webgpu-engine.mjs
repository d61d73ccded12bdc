// The one place the GPU benchmark reaches the project's WebGPU engine (`createWebGpuNetwork` of
// @mednext-ts/mednext): `createWebGpuNetwork(model, { device?, f16? }) → Promise<{ forward(x, [d, h, w],
// { deepSupervision }) → Promise<Float32Array[]>, adapter, peakBytes(), dispose() }>`.
//
// Until the engine is wired in, the factory is undefined and the benchmark prints why the section did not run.

// WIRE-IN (one line): when @mednext-ts/mednext exports the engine, replace the next line with
//   import { createWebGpuNetwork } from '../../dist/index.js';
const createWebGpuNetwork = undefined;

/** The engine's factory, or why this build of the benchmark has none. */
export function webGpuEngineFactory() {
  if (typeof createWebGpuNetwork === 'function') return { ok: true, create: createWebGpuNetwork };
  return {
    ok: false,
    reason:
      'this build of the benchmark has no WebGPU engine (createWebGpuNetwork is not wired in: bench/gpu/webgpu-engine.mjs)',
  };
}
