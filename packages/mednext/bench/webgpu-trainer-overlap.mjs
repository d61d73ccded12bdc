// GPU idle time between training steps of the GPU trainer (`createWebGpuTrainer`): the same batches driven
// sequentially (await each step's report before the next call) and overlapped (the next step called before the
// previous report is awaited), in the same run, interleaved round by round. Prints per mode the median host
// milliseconds per step (wall clock between reports), the trainer's stepMs and gpuIdleMs, and the ratio.
//
//   node bench/webgpu-trainer-overlap.mjs                      # config_a (4→3, width 4), batch 2, 32³, DS
//   node bench/webgpu-trainer-overlap.mjs --patch 16x16x16 --steps 6 --rounds 2
//
// Under Node without a GPU, Dawn's OpenGL ES backend on Mesa llvmpipe is used (set EGL_PLATFORM=surfaceless):
// software rendering on the CPU, so its times say nothing about a GPU; the idle times say how much host work
// sits between steps.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mednext-ts/tensor3d';
import { MedNeXt, createWebGpuTrainer } from '../dist/index.js';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const patchText = option('patch', '32x32x32');
const patch = patchText.split('x').map(Number);
const steps = Number(option('steps', '6'));
const rounds = Number(option('rounds', '2'));
const batchSize = Number(option('batch', '2'));
const modes = option('modes', 'sequential,overlapped').split(',');
process.env.EGL_PLATFORM ??= 'surfaceless';
await selectBackend('cpu');

const config = JSON.parse(readFileSync(new URL('../test/fixtures/config_a/config.json', import.meta.url), 'utf8'));
const model = MedNeXt.create(config, { seed: 0 });
const { in_channels: modalities, n_classes: regions } = config;
const vox = patch[0] * patch[1] * patch[2];
/** Channels-last batches as the sample pool gives them (a fresh copy per call, as a worker would transfer). */
function batch(seed) {
  return tf.tidy(() => ({
    x: tf.randomNormal([batchSize * vox * modalities], 0, 1, 'float32', seed).dataSync(),
    y: tf
      .cast(tf.greater(tf.randomUniform([batchSize * vox * regions], 0, 1, 'float32', seed + 1), 0.7), 'float32')
      .dataSync(),
  }));
}
const batches = Array.from({ length: steps }, (_, s) => batch(10 + 2 * s));
const trainer = await createWebGpuTrainer(model, {
  patchSize: patch,
  batchSize,
  deepSupervision: true,
  loss: 'dice-focal',
  optimizer: { learningRate: 1e-3, weightDecay: 0.01 },
});
trainer.train();
console.log(
  `config_a, batch ${batchSize}, ${patchText}, DS, dice-focal; ${steps} steps per mode and round; load average ` +
    `${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
);
console.log(`adapter: ${trainer.adapter.description}${trainer.software ? ' — SOFTWARE RENDERING on the CPU' : ''}`);

async function sequential() {
  const reports = [];
  for (const b of batches) reports.push(await trainer.step(b));
  return reports;
}
async function overlapped() {
  const reports = [];
  let previous;
  for (const b of batches) {
    const next = trainer.step(b); // queued behind the previous step before its report is awaited
    if (previous) reports.push(await previous);
    previous = next;
  }
  reports.push(await previous);
  return reports;
}
const run = { sequential, overlapped };
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const results = Object.fromEntries(modes.map((m) => [m, { wall: [], stepMs: [], idle: [] }]));
await sequential(); // warm-up: pipelines compiled, pool filled
for (let r = 0; r < rounds; r++) {
  for (const mode of modes) {
    const t0 = performance.now();
    const reports = await run[mode]();
    const wall = (performance.now() - t0) / reports.length;
    // The first step of a round follows a pause of the driver: its idle time is not the loop's.
    const rest = reports.slice(1);
    results[mode].wall.push(wall);
    results[mode].stepMs.push(...rest.map((q) => q.stepMs));
    results[mode].idle.push(...rest.map((q) => q.gpuIdleMs));
    console.log(
      `round ${r + 1} ${mode}: ${wall.toFixed(0)} ms/step; gpuIdleMs ${rest.map((q) => q.gpuIdleMs.toFixed(0)).join(' ')}; ` +
        `stepMs ${rest.map((q) => q.stepMs.toFixed(0)).join(' ')}; losses ${reports.map((q) => q.loss.toFixed(4)).join(' ')}`,
    );
  }
}
for (const mode of modes) {
  const m = results[mode];
  console.log(
    `${mode}: median ${median(m.wall).toFixed(0)} ms/step wall, stepMs ${median(m.stepMs).toFixed(0)}, ` +
      `gpuIdleMs ${median(m.idle).toFixed(1)}`,
  );
}
if (results.sequential && results.overlapped) {
  console.log(
    `ratio overlapped/sequential: wall ${(median(results.overlapped.wall) / median(results.sequential.wall)).toFixed(2)}`,
  );
}
trainer.dispose();
model.dispose();
process.exit(0);
