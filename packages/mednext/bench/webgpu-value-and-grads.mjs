// WebGPU `valueAndGrads` alone (batch 1, BCE on the main output, deep supervision off): median seconds of
// `rounds` gradients after one warm-up, and Σ|grad| over every parameter gradient, so two builds run one after
// the other (e.g. before and after a kernel change) can be compared for time and for the gradients they return.
// webgpu-train-step.mjs times the same step against the CPU engine.
//
//   npx tsc -b && EGL_PLATFORM=surfaceless node bench/webgpu-value-and-grads.mjs [preset S] [size 16] [rounds 2] [label]
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { MedNeXt, createWebGpuNetwork, presetConfig } from '../dist/index.js';
process.env.EGL_PLATFORM ??= 'surfaceless';
const [preset, size, rounds, label] = [
  process.argv[2] ?? 'S',
  Number(process.argv[3] ?? 16),
  Number(process.argv[4] ?? 2),
  process.argv[5] ?? 'this build',
];
const patch = [size, size, size];
const model = MedNeXt.create(presetConfig(preset, { kernelSize: 3 }), { seed: 0 });
const classes = model.architecture.config.nClasses;
const x = tf.randomNormal([1, 4, ...patch], 0, 1, 'float32', 1).dataSync();
const t = tf
  .randomUniform([1, classes, ...patch], 0, 1, 'float32', 2)
  .dataSync()
  .map((v) => (v > 0.7 ? 1 : 0));
const net = await createWebGpuNetwork(model);
const times = [];
let sum = 0;
for (let r = 0; r <= rounds; r++) {
  const t0 = performance.now();
  const { grads } = await net.valueAndGrads(
    x,
    patch,
    ([z]) => [z.map((v, i) => (1 / (1 + Math.exp(-v)) - t[i]) / z.length)],
    { deepSupervision: false },
  );
  if (r > 0) times.push((performance.now() - t0) / 1000);
  sum = 0;
  for (const g of grads.values()) for (const v of g) sum += Math.abs(v);
}
times.sort((a, b) => a - b);
console.log(
  `${label}: MedNeXt-${preset} k3 1x4x${size}³ valueAndGrads median ${times[Math.floor(times.length / 2)].toFixed(2)} s (${times.map((s) => s.toFixed(2)).join(', ')}), Σ|grad| ${sum.toPrecision(10)}, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, ${net.adapter.description}`,
);
net.dispose();
model.dispose();
process.exit(0);
