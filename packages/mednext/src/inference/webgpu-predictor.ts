/**
 * Sliding-window inference on the WebGPU engine: the network forward runs as one command encoder per window
 * on the GPU ({@link createWebGpuNetwork}); windows, blending, TTA and post-processing stay where they are.
 */
import type { PatchPredictor, Shape3 } from '@mednext-ts/tensor3d';
import { createWebGpuNetwork, type WebGpuNetwork, type WebGpuNetworkOptions } from '../network/engines/webgpu/index.js';
import type { InferenceModel } from './predictor.js';
import { MedNeXtError } from '../errors.js';

/**
 * Wraps a GPU network as a {@link PatchPredictor}: windows `[count, in, px, py, pz]` → sigmoid probabilities
 * `[count, regions, px, py, pz]` of the main output (deep-supervision heads are not evaluated), like
 * `mednextPredictor` on the CPU. Anything with the network's `forward` will do (the GPU trainer's validation
 * wraps its own forward pass this way).
 */
export function webGpuPredictor(
  network: Pick<WebGpuNetwork, 'forward'>,
  patchSize: Shape3,
  inChannels: number,
  outChannels: number,
): PatchPredictor {
  const inSize = inChannels * patchSize[0] * patchSize[1] * patchSize[2];
  const outSize = outChannels * patchSize[0] * patchSize[1] * patchSize[2];
  return async (patches, count) => {
    const out = new Float32Array(count * outSize);
    for (let i = 0; i < count; i++) {
      const [probs] = await network.forward(patches.subarray(i * inSize, (i + 1) * inSize), [...patchSize], {
        deepSupervision: false,
        sigmoid: true,
      });
      out.set(probs, i * outSize);
    }
    return out;
  };
}

/**
 * The same model with its network forward on the WebGPU engine (weights uploaded now). Disposing the result
 * frees the GPU buffers and the original model.
 *
 * @example
 * ```ts
 * const cpu = await loadInferenceModel('fold_0.safetensors');
 * const gpu = await onWebGpu(cpu);
 * const probabilities = await slidingWindowInference(volume, gpu.predictor, { patchSize: gpu.patchSize, ... });
 * ```
 * @throws Error when the model does not expose its network, or GpuUnavailableError without a WebGPU adapter
 */
export async function onWebGpu<M extends InferenceModel>(
  model: M,
  options: WebGpuNetworkOptions = {},
): Promise<M & { gpu: WebGpuNetwork }> {
  if (!model.network)
    throw new MedNeXtError(
      'GPU_UNSUPPORTED',
      `${model.name}: this model does not expose its network; the WebGPU engine cannot run it`,
    );
  const gpu = await createWebGpuNetwork(model.network, options);
  return {
    ...model,
    gpu,
    predictor: webGpuPredictor(gpu, model.patchSize, model.inChannels, model.outChannels),
    dispose: () => {
      gpu.dispose();
      model.dispose?.();
    },
  };
}
