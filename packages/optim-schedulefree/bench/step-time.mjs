// Time per optimizer step on a ~1M-parameter model: Schedule-Free AdamW/SGD vs tfjs Adam/SGD, same
// run, same gradients. Usage: node bench/step-time.mjs [--steps N] [--backend cpu|wasm]
// (build first: npx tsc -b). Prints ms/step and the ratio against the tfjs optimizer.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

import { AdamWScheduleFree, SGDScheduleFree } from '../dist/index.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const STEPS = Number(arg('steps', '20'));
const BACKEND = arg('backend', 'cpu');
if (BACKEND === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
await tf.setBackend(BACKEND);
await tf.ready();

// 4 × 512×512 + 4 × 512 = 1,050,624 parameters, like a few dense/conv layers.
const SHAPES = [[512, 512], [512], [512, 512], [512], [512, 512], [512], [512, 512], [512]];

function makeVars(tag) {
  return SHAPES.map((s, i) => tf.variable(tf.randomNormal(s, 0, 0.05, 'float32', 1 + i), true, `bench_${tag}_${i}`));
}
const gradients = SHAPES.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 100 + i));

async function timeOptimizer(label, make, tag) {
  const vars = makeVars(tag);
  const opt = make();
  const grads = vars.map((v, i) => ({ name: v.name, tensor: gradients[i] }));
  const step = () => opt.applyGradients(grads);
  for (let i = 0; i < 3; i++) step(); // warm-up: state allocation, kernel caches
  await vars[0].data();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) step();
  await Promise.all(vars.map((v) => v.data())); // wait for the backend to finish
  const ms = (performance.now() - t0) / STEPS;
  opt.dispose();
  tf.dispose(vars);
  return { label, ms };
}

const count = SHAPES.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
console.log(`backend ${tf.getBackend()}, ${count.toLocaleString('en')} parameters, ${STEPS} timed steps each`);
const pairs = [
  [
    ['AdamWScheduleFree', () => trainMode(new AdamWScheduleFree({ lr: 0.0027 }))],
    ['tf.train.adam', () => tf.train.adam(0.0027, 0.9, 0.999, 1e-8)],
  ],
  [
    ['SGDScheduleFree', () => trainMode(new SGDScheduleFree({ lr: 0.1 }))],
    ['tf.train.momentum', () => tf.train.momentum(0.1, 0.9)],
  ],
];
function trainMode(opt) {
  opt.train();
  return opt;
}
for (const [[sfLabel, sfMake], [refLabel, refMake]] of pairs) {
  const ref = await timeOptimizer(refLabel, refMake, `${refLabel}`);
  const sf = await timeOptimizer(sfLabel, sfMake, `${sfLabel}`);
  console.log(
    `${sf.label.padEnd(18)} ${sf.ms.toFixed(1).padStart(7)} ms/step   ${ref.label.padEnd(18)} ${ref.ms
      .toFixed(1)
      .padStart(7)} ms/step   ratio ${(sf.ms / ref.ms).toFixed(2)}×`,
  );
}
tf.dispose(gradients);
