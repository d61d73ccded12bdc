// Engine process of the GPU benchmark: MedNeXt op by op on tfjs-backend-webgpu (one dispatch per tfjs kernel,
// every intermediate a GPU buffer), on the adapter gpu-setup.mjs opens: the peer the project's own WebGPU
// engine is measured against. Usage (from gpu-bench.mjs): node engine-tfjs-webgpu.mjs TASK.json
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mednext-ts/tensor3d';
import { forwardNcdhw } from '../../dist/index.js';
import { finish, loadInput, loadModel, startTask, timeForwards } from './engine-common.mjs';
import { openGpu } from './gpu-setup.mjs';

const { task, load1Start } = startTask();
const opened = await openGpu(task.gpuBackend);
// The project's backend selection finds navigator.gpu (installed above) and loads tfjs-backend-webgpu.
const choice = await selectBackend('webgpu');
const model = loadModel(task);
const x = loadInput(task);
let gpuPeakBytes = 0;
/** tfjs's own accounting: bytes of live tensors on the GPU and of the buffers its pool holds. */
const sampleMemory = () => {
  const m = tf.memory();
  gpuPeakBytes = Math.max(gpuPeakBytes, m.numBytesInGPUAllocated ?? m.numBytesInGPU ?? 0);
};
const runs = await timeForwards(
  task,
  'tfjs-webgpu',
  async () => {
    const [main] = await forwardNcdhw(model, { shape: task.inputShape, data: x }, { deepSupervision: false });
    return main.data;
  },
  sampleMemory,
);
finish(task, load1Start, {
  engine: 'tfjs-webgpu',
  runs,
  gpuPeakBytes,
  gpuPeakSource: 'tf.memory().numBytesInGPUAllocated after each forward (tfjs buffer pool)',
  info: {
    tfjsBackend: tf.getBackend(),
    reason: choice.reason,
    backend: opened.backend,
    adapter: opened.description.adapter,
  },
});
