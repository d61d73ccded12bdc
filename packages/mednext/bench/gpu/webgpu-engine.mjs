// The one place the GPU benchmark reaches the project's WebGPU engine and trainer (@mednext-ts/mednext):
//   createWebGpuNetwork(model, { device?, f16? }) → Promise<{ forward(x, [d, h, w], { deepSupervision }) →
//     Promise<Float32Array[]>, adapter, peakBytes(), dispose() }>
//   createWebGpuTrainer(model, WebGpuTrainerOptions) → Promise<WebGpuTrainer>  (src/training/webgpu/types.ts:
//     step({ x, y }) → Promise<{ loss, stepMs, gpuIdleMs, peakBytes }>, train(), peakBytes(), dispose())
import * as mednext from '../../dist/index.js';

/** The engine's factory (a build without it fails at import, loudly). */
export function webGpuEngineFactory() {
  return { ok: true, create: mednext.createWebGpuNetwork };
}

/** The trainer's factory, or why this build has none (the training part then reports the engine unavailable). */
export function webGpuTrainerFactory() {
  if (typeof mednext.createWebGpuTrainer !== 'function') {
    return { ok: false, reason: 'this build of @mednext-ts/mednext has no createWebGpuTrainer' };
  }
  return { ok: true, create: mednext.createWebGpuTrainer };
}
