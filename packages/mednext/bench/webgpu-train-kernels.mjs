// The GPU training kernels that do not depend on the network: one Schedule-Free AdamW update of
// MedNeXt-B's parameters (WGSL, @mednext-ts/optim-schedulefree/webgpu) against the tfjs optimizer
// in the same run, and the batch Dice + focal loss with deep supervision, value and gradient
// (WGSL, src/losses/webgpu) against tfjs's valueAndGrads of the same loss; tfjs on each of the
// --peers backends (default cpu,wasm).
// Usage (build first: npx tsc -b):
//   EGL_PLATFORM=surfaceless node bench/webgpu-train-kernels.mjs [--steps 5] [--patch 64] [--backend opengles|vulkan] [--peers cpu,wasm]
// Times are medians after one warm-up; GPU times wait for queue.onSubmittedWorkDone().
import os from 'node:os';

import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mednext-ts/tensor3d';
import {
  MedNeXt,
  presetConfig,
  batchDiceFocalLoss,
  deepSupervisionLoss,
  deepSupervisionWeights,
} from '@mednext-ts/mednext';
import { AdamWScheduleFree } from '@mednext-ts/optim-schedulefree';
import { WebGPUAdamWScheduleFree } from '@mednext-ts/optim-schedulefree/webgpu';
import { create, globals } from 'webgpu';

import { WebGPURegionLoss } from '../dist/losses/webgpu/index.js';
import { median } from './common.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const STEPS = Number(arg('steps', '5'));
const PATCH = Number(arg('patch', '64'));
const BACKEND = arg('backend', 'opengles');
const PEERS = arg('peers', 'cpu,wasm').split(',');

Object.assign(globalThis, globals);
process.env.EGL_PLATFORM ??= 'surfaceless';
const gpu = create([`backend=${BACKEND}`]);
const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
if (!adapter) throw new Error(`webgpu-train-kernels: no WebGPU adapter (Dawn backend=${BACKEND})`);
const device = await adapter.requestDevice({
  requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize },
});
const info = adapter.info ?? {};

const { GPUBufferUsage } = globalThis;

/** A storage buffer holding `values` as float32. */
function upload(values) {
  const buffer = device.createBuffer({
    size: Math.max(4, values.length * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, values instanceof Float32Array ? values : Float32Array.from(values));
  return buffer;
}

async function timeIt(run, finish) {
  const times = [];
  for (let i = 0; i <= STEPS; i++) {
    const t0 = performance.now();
    run();
    await finish();
    if (i > 0) times.push(performance.now() - t0); // the first run is the warm-up
  }
  return median(times);
}

console.log(
  `adapter: ${info.vendor ?? '?'} ${info.architecture ?? ''} ${info.description ?? ''} (Dawn ${BACKEND}); ` +
    `${os.cpus().length} x ${os.cpus()[0]?.model}; load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);

// --- Schedule-Free AdamW over MedNeXt-B's parameters ---
await selectBackend('cpu');
const model = MedNeXt.create(presetConfig('B', { deepSupervision: true, inChannels: 4, nClasses: 3 }), { seed: 1 });
const vars = model.trainableVariables();
const count = vars.reduce((n, v) => n + v.size, 0);
const grads = vars.map((v, i) => tf.randomNormal(v.shape, 0, 1e-3, 'float32', 100 + i));
const hp = { lr: 0.0027, weightDecay: 0.01, warmupSteps: 10 };

// Host copies, from which each backend builds its own tensors (moving tensors between tfjs backends
// trips over tfjs-wasm's growing heap).
const varValues = await Promise.all(vars.map((v) => v.data()));
const gradValues = await Promise.all(grads.map((g) => g.data()));
const peerOptimizerMs = {};
for (const peer of PEERS) {
  await selectBackend(peer);
  const peerVars = vars.map((v, i) => tf.variable(tf.tensor(varValues[i], v.shape), true));
  const named = peerVars.map((v, i) => ({ name: v.name, tensor: tf.tensor(gradValues[i], v.shape) }));
  const opt = new AdamWScheduleFree(hp);
  opt.train();
  peerOptimizerMs[peer] = await timeIt(
    () => opt.applyGradients(named),
    () => peerVars[peerVars.length - 1].data(),
  );
  opt.dispose();
  tf.dispose([...peerVars, ...named.map((g) => g.tensor)]);
}

const params = [];
const gradBuffers = {};
for (const [i, v] of vars.entries()) {
  params.push({ name: `p${i}`, buffer: upload(varValues[i]), shape: v.shape });
  gradBuffers[`p${i}`] = upload(gradValues[i]);
}
const gpuOpt = new WebGPUAdamWScheduleFree(device, params, hp);
gpuOpt.train();
const gpuMs = await timeIt(
  () => gpuOpt.step(gradBuffers),
  () => device.queue.onSubmittedWorkDone(),
);
const versus = (gpuTime, peers) =>
  Object.entries(peers)
    .map(([peer, ms]) => `tfjs-${peer} ${ms.toFixed(1)} ms (WebGPU / tfjs-${peer} ${(gpuTime / ms).toFixed(2)})`)
    .join(', ');
console.log(
  `SF-AdamW step, MedNeXt-B (${count.toLocaleString('en')} parameters in ${vars.length} tensors): ` +
    `WebGPU ${gpuMs.toFixed(1)} ms, ${versus(gpuMs, peerOptimizerMs)}`,
);
gpuOpt.dispose();
for (const p of params) p.buffer.destroy();
for (const b of Object.values(gradBuffers)) b.destroy();
tf.dispose(grads);
model.dispose?.();

// --- batch Dice + focal with 5 deep-supervision outputs, value and gradient ---
await selectBackend('cpu');
const shapes = [0, 1, 2, 3, 4].map((s) => [2, PATCH >> s, PATCH >> s, PATCH >> s, 3]);
const logitValues = await Promise.all(shapes.map((s, i) => tf.randomNormal(s, 0, 2, 'float32', 10 + i).data()));
const targetValues = await Promise.all(
  shapes.map((s, i) => tf.cast(tf.greater(tf.randomUniform(s, 0, 1, 'float32', 20 + i), 0.7), 'float32').data()),
);
const weights = deepSupervisionWeights(shapes.length);
const peerLossMs = {};
for (const peer of PEERS) {
  await selectBackend(peer);
  const logits = shapes.map((s, i) => tf.tensor(logitValues[i], s));
  const targets = shapes.map((s, i) => tf.tensor(targetValues[i], s));
  const lossGrad = tf.valueAndGrads((...xs) => deepSupervisionLoss(xs, targets, batchDiceFocalLoss, weights));
  let held = [];
  peerLossMs[peer] = await timeIt(
    () => {
      tf.dispose(held);
      const { value, grads: g } = lossGrad(logits);
      held = [value, ...g];
    },
    () => Promise.all(held.map((t) => t.data())),
  );
  tf.dispose([...held, ...logits, ...targets]);
}
const inputs = shapes.map((s, i) => ({
  logits: upload(logitValues[i]),
  target: upload(targetValues[i]),
  grad: upload(new Float32Array(logitValues[i].length)),
}));
const gpuLoss = new WebGPURegionLoss(device, { loss: 'dice-focal' }, shapes, { weights });
const gpuLossMs = await timeIt(
  () => {
    const encoder = device.createCommandEncoder();
    gpuLoss.record(encoder, inputs);
    device.queue.submit([encoder.finish()]);
  },
  () => device.queue.onSubmittedWorkDone(),
);
console.log(
  `batch Dice + focal, 5 outputs, 2x3x${PATCH}^3 at full resolution, value + gradient: ` +
    `WebGPU ${gpuLossMs.toFixed(1)} ms, ${versus(gpuLossMs, peerLossMs)}`,
);
gpuLoss.dispose();
device.destroy();
