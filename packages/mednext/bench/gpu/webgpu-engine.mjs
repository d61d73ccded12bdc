// The one place the GPU benchmark reaches the project's WebGPU engine (`createWebGpuNetwork` of
// @mednext-ts/mednext): `createWebGpuNetwork(model, { device?, f16? }) → Promise<{ forward(x, [d, h, w],
// { deepSupervision }) → Promise<Float32Array[]>, adapter, peakBytes(), dispose() }>`.
//
// Builds of the package without the engine leave the factory undefined and the benchmark prints why the section
// did not run. Wiring the engine in is the one line marked below.
import * as mednext from '../../dist/index.js';

// WIRE-IN (one line): when @mednext-ts/mednext exports the engine, replace the next line with
//   export { createWebGpuNetwork } from '../../dist/index.js';
export const createWebGpuNetwork = undefined;

/** The factory, or why there is none in this build. */
export function webGpuEngineFactory() {
  if (typeof createWebGpuNetwork === 'function') return { ok: true, create: createWebGpuNetwork };
  const exported = typeof mednext.MedNeXt === 'function' ? 'createWebGpuNetwork is not wired in' : 'package not built';
  return {
    ok: false,
    reason: `this build of @mednext-ts/mednext has no WebGPU engine (${exported}: bench/gpu/webgpu-engine.mjs)`,
  };
}
