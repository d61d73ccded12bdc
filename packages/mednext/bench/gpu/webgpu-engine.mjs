// The one place the GPU benchmark reaches the project's WebGPU engine (`createWebGpuNetwork` of
// @mednext-ts/mednext): `createWebGpuNetwork(model, { device?, f16? }) → Promise<{ forward(x, [d, h, w],
// { deepSupervision }) → Promise<Float32Array[]>, adapter, peakBytes(), dispose() }>`.
import { createWebGpuNetwork } from '../../dist/index.js';

/** The engine's factory (a build without it fails at import, loudly). */
export function webGpuEngineFactory() {
  return { ok: true, create: createWebGpuNetwork };
}
