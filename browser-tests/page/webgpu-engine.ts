/**
 * The MedNeXt forward on the project's WebGPU engine (WGSL kernels, `createWebGpuNetwork`) in the page, with the
 * parameters sent from Node so the same network can be compared with the Node CPU forward.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MedNeXt, createWebGpuNetwork, type MedNeXtConfig } from '@mednext-ts/mednext';
import { useBackend } from './backends.js';
import type { MedNeXtRequest, WebGpuEngineResult } from './protocol.js';

/** Builds the model from `request`, puts it on the GPU, runs it twice (first and steady time). */
export async function webGpuEngineForward(request: MedNeXtRequest): Promise<WebGpuEngineResult> {
  // tfjs only holds the parameters on their way to the GPU.
  await useBackend('cpu');
  const model = MedNeXt.create(request.config as unknown as MedNeXtConfig, { seed: 1 });
  try {
    for (const [name, variable] of model.params) {
      const p = request.params[name];
      if (!p) throw new Error(`webGpuEngineForward: parameter '${name}' was not sent`);
      const value = tf.tensor(p.data, p.shape, 'float32');
      variable.assign(value);
      value.dispose();
    }
    const net = await createWebGpuNetwork(model);
    try {
      const spatial = request.input.shape.slice(2) as [number, number, number];
      const x = Float32Array.from(request.input.data);
      let t = performance.now();
      const [first] = await net.forward(x, spatial, { deepSupervision: false });
      const firstMs = performance.now() - t;
      t = performance.now();
      const [out] = await net.forward(x, spatial, { deepSupervision: false });
      const steadyMs = performance.now() - t;
      if (first!.some((v, i) => v !== out![i])) throw new Error('webGpuEngineForward: two runs differ');
      return {
        adapter: net.adapter.description,
        software: net.software,
        firstMs,
        steadyMs,
        shape: [1, model.resolved.nClasses, ...spatial],
        data: Array.from(out!),
      };
    } finally {
      net.dispose();
    }
  } finally {
    for (const v of model.params.values()) v.dispose();
  }
}
