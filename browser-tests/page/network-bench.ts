/**
 * Timing of one MedNeXt forward per patch (the fused forward the predictor runs) on tfjs-wasm with the
 * WebAssembly kernels. Shared by the page's worker and the Node side of the benchmark, so both time exactly
 * the same calls; the caller has made tfjs-wasm the active backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MedNeXt, presetConfig, summarize, toNcdhw, toNdhwc, type PresetName } from '@mednext-ts/mednext';
import { wasmKernels } from '@mednext-ts/tensor3d';
import type { NetworkBenchRequest, NetworkTiming } from './protocol.js';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Times `request.repeats` forwards after one warm-up, with a kernel runtime of its own. */
export async function benchNetwork(request: NetworkBenchRequest): Promise<NetworkTiming> {
  const runtime = await wasmKernels.createKernelRuntime({ threads: request.threads, relaxedSimd: request.fma });
  wasmKernels.registerFastKernels({ runtime, backends: ['wasm'] });
  const config = presetConfig(request.preset as PresetName, { kernelSize: 3 });
  const model = MedNeXt.create(config, { seed: 0 });
  const x = tf.randomNormal([1, 4, ...request.patch], 0, 1, 'float32', 1);
  const once = async () => {
    const t0 = performance.now();
    const y = tf.tidy(() => toNcdhw(model.forward(toNdhwc(x as tf.Tensor5D))[0]!));
    await y.data();
    y.dispose();
    return performance.now() - t0;
  };
  try {
    const firstMs = await once();
    const ms: number[] = [];
    for (let i = 0; i < request.repeats; i++) ms.push(await once());
    return {
      firstMs,
      medianMs: median(ms),
      runsMs: ms,
      gflop: summarize(config, request.patch).totalFlops / 1e9,
      threads: runtime.activeThreads,
      fma: runtime.relaxedSimd,
      tfjsBackend: tf.getBackend(),
    };
  } finally {
    x.dispose();
    model.dispose();
    wasmKernels.unregisterFastKernels();
    await runtime.dispose();
  }
}
