/**
 * A tiny MedNeXt forward in the page (tfjs-wasm or tfjs-webgpu), with parameters sent from Node so the very
 * same network can be run there and compared; optionally on tensor3d's WebAssembly kernels, in a worker.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MedNeXt, forwardNcdhw, type MedNeXtConfig } from '@mednext-ts/mednext';
import { wasmKernels } from '@mednext-ts/tensor3d';
import { useBackend } from './backends.js';
import type { MedNeXtRequest, MedNeXtResult } from './protocol.js';

async function forward(model: MedNeXt, request: MedNeXtRequest): Promise<{ shape: number[]; data: Float32Array }> {
  const [out] = await forwardNcdhw(model, { shape: request.input.shape, data: Float32Array.from(request.input.data) });
  return out!;
}

/** Runs `request` in the current context (window or worker). */
export async function mednextForwardHere(request: MedNeXtRequest): Promise<MedNeXtResult> {
  const backend = request.backend ?? 'wasm';
  if (request.fastKernels && backend !== 'wasm') {
    throw new Error(`mednextForward: the WebAssembly kernels are registered for wasm, not ${backend}`);
  }
  await useBackend(backend);
  const model = MedNeXt.create(request.config as unknown as MedNeXtConfig, { seed: 1 });
  let runtime: (wasmKernels.KernelRuntime & { fallbackReason?: string }) | undefined;
  try {
    for (const [name, variable] of model.params) {
      const p = request.params[name];
      if (!p) throw new Error(`mednextForward: parameter '${name}' was not sent`);
      if (p.shape.join() !== variable.shape.join()) {
        throw new Error(`mednextForward: '${name}' has shape [${p.shape}], the model expects [${variable.shape}]`);
      }
      const value = tf.tensor(p.data, p.shape, 'float32');
      variable.assign(value);
      value.dispose();
    }
    if (request.fastKernels) {
      // Registered after the backend is set up, as registerFastKernels asks; only for wasm, the backend in use.
      const enabled = await wasmKernels.enableFastKernels({ threads: request.fastKernels.threads, backends: ['wasm'] });
      runtime = enabled.runtime;
    }
    const before = runtime?.dispatches ?? 0;
    const out = await forward(model, request);
    return {
      tfjsBackend: tf.getBackend(),
      context: typeof document === 'undefined' ? 'worker' : 'window',
      fastKernels: runtime && {
        threads: runtime.threads,
        fallbackReason: runtime.fallbackReason ?? null,
        dispatches: runtime.dispatches - before,
      },
      shape: out.shape,
      data: Array.from(out.data),
    };
  } finally {
    if (runtime) {
      wasmKernels.unregisterFastKernels();
      await runtime.dispose();
    }
    for (const v of model.params.values()) v.dispose();
  }
}
