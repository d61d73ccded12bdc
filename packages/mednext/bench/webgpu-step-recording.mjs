// Host time spent recording one GPU training step (`createWebGpuTrainer`): the milliseconds inside the runtime's
// `run` (one per dispatch: pipeline and uniform lookup, bind group, dispatch) and `encode` (the caller's own
// commands, e.g. the loss), summed per step, and the dispatch count; plus the seconds `createWebGpuTrainer` took,
// of which compiling pipelines is most on a software rasteriser. Times are measured by wrapping the two methods,
// so the GPU's own work (which Dawn's OpenGL ES backend may run inside `submit`) is not in them.
//
//   node bench/webgpu-step-recording.mjs                         # config_a (4→3, width 4), batch 2, 32³, DS
//   node bench/webgpu-step-recording.mjs --patch 16x16x16 --steps 4
//
// Under Node without a GPU, set EGL_PLATFORM=surfaceless (Dawn's OpenGL ES backend on Mesa llvmpipe).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mednext-ts/tensor3d';
import { GpuRuntime } from '@mednext-ts/tensor3d/webgpu';
import { MedNeXt, createWebGpuTrainer } from '../dist/index.js';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const patchText = option('patch', '32x32x32');
const patch = patchText.split('x').map(Number);
const steps = Number(option('steps', '6'));
const batchSize = Number(option('batch', '2'));
process.env.EGL_PLATFORM ??= 'surfaceless';
await selectBackend('cpu');

let recordingMs = 0;
let dispatches = 0;
for (const method of ['run', 'encode']) {
  const original = GpuRuntime.prototype[method];
  GpuRuntime.prototype[method] = function timed(...args) {
    const t0 = performance.now();
    try {
      return original.apply(this, args);
    } finally {
      // encode's callback may call run: count the outermost call only.
      if (this.timing !== true) recordingMs += performance.now() - t0;
      if (method === 'run') dispatches++;
    }
  };
}
// Nested run inside encode would be counted twice; mark encode's span.
{
  const encode = GpuRuntime.prototype.encode;
  GpuRuntime.prototype.encode = function marked(record) {
    return encode.call(this, (encoder) => {
      const outer = this.timing;
      this.timing = true;
      try {
        return record(encoder);
      } finally {
        this.timing = outer;
      }
    });
  };
}

const config = JSON.parse(readFileSync(new URL('../test/fixtures/config_a/config.json', import.meta.url), 'utf8'));
const model = MedNeXt.create(config, { seed: 0 });
const { in_channels: modalities, n_classes: regions } = config;
const vox = patch[0] * patch[1] * patch[2];
function batch(seed) {
  return tf.tidy(() => ({
    x: tf.randomNormal([batchSize * vox * modalities], 0, 1, 'float32', seed).dataSync(),
    y: tf
      .cast(tf.greater(tf.randomUniform([batchSize * vox * regions], 0, 1, 'float32', seed + 1), 0.7), 'float32')
      .dataSync(),
  }));
}
const options = {
  patchSize: patch,
  batchSize,
  deepSupervision: true,
  loss: 'dice-focal',
  optimizer: { learningRate: 1e-3, weightDecay: 0.01 },
};
console.log(
  `config_a, batch ${batchSize}, ${patchText}, DS, dice-focal; ${steps} steps; load average ` +
    `${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
);
const { device } = await (await import('@mednext-ts/tensor3d/webgpu')).acquireGpuDevice();
const created = [];
for (let i = 0; i < 2; i++) {
  const t0 = performance.now();
  const trainer = await createWebGpuTrainer(model, { ...options, device });
  trainer.train();
  await trainer.step(batch(1)); // the first step compiles what creation did not
  created.push((performance.now() - t0) / 1000);
  if (i === 1) {
    const perStep = [];
    for (let s = 0; s < steps; s++) {
      recordingMs = 0;
      dispatches = 0;
      const report = await trainer.step(batch(10 + 2 * s));
      perStep.push({ ms: recordingMs, dispatches, loss: report.loss });
    }
    console.log(`adapter: ${trainer.adapter.description}${trainer.software ? ' — SOFTWARE RENDERING' : ''}`);
    console.log(`recording ms per step: ${perStep.map((p) => p.ms.toFixed(1)).join(' ')}`);
    console.log(
      `dispatches per step: ${perStep[0].dispatches}; losses ${perStep.map((p) => p.loss.toFixed(4)).join(' ')}`,
    );
    // The median and the minimum: on a shared machine other processes only ever add time.
    const sorted = perStep.map((p) => p.ms).sort((a, b) => a - b);
    console.log(
      `recording ms per step: median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)}, min ${sorted[0].toFixed(1)}`,
    );
  }
  trainer.dispose();
}
console.log(
  `trainer creation + first step, s: first ${created[0].toFixed(2)}, second on the same device ${created[1].toFixed(2)}`,
);
model.dispose();
device.destroy();
process.exit(0);
