// Engine process of the GPU benchmark: the project's WebGPU engine (createWebGpuNetwork) on the adapter that
// gpu-setup.mjs opens, in f32 or (task.f16) f16 storage. Usage (from gpu-bench.mjs): node engine-webgpu.mjs TASK.json
import { finish, loadInput, loadModel, startTask, timeForwards } from './engine-common.mjs';
import { openGpu } from './gpu-setup.mjs';
import { webGpuEngineFactory } from './webgpu-engine.mjs';

const { task, load1Start } = startTask();
const label = task.f16 ? 'webgpu-f16' : 'webgpu';
const factory = webGpuEngineFactory();
if (!factory.ok) finish(task, load1Start, { engine: label, unavailable: factory.reason });

const opened = await openGpu(task.gpuBackend);
if (task.f16) {
  // f16 storage exists for the activations training keeps (activationStorage); inference computes and stores f32.
  finish(task, load1Start, {
    engine: label,
    unavailable: 'f16 storage of forward activations is not implemented (training: activationStorage f16)',
  });
}
const model = loadModel(task);
const x = loadInput(task);
const spatial = task.inputShape.slice(2);
const built = performance.now();
const network = await factory.create(model);
const setupSeconds = (performance.now() - built) / 1e3;
const runs = await timeForwards(task, label, async () => {
  const [main] = await network.forward(x, spatial, { deepSupervision: false });
  return main;
});
const peakBytes = network.peakBytes();
const adapter = network.adapter;
network.dispose();
finish(task, load1Start, {
  engine: label,
  runs,
  setupSeconds,
  gpuPeakBytes: peakBytes,
  gpuPeakSource: 'engine peakBytes()',
  info: { adapter, backend: opened.backend, f16: Boolean(task.f16) },
});
