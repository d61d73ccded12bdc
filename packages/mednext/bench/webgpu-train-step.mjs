// One full training step — forward with deep supervision, batch Dice + focal, backward, Schedule-Free AdamW —
// on the GPU trainer (`createWebGpuTrainer`: per-block recompute, the backward WGSL kernels, the loss and the
// optimizer on the GPU) against the CPU engine's step (backend `auto`: tfjs autograd on the CPU kernels, the
// optimizer of `@mednext-ts/optim-schedulefree`), in the same process, interleaved step by step on the same batch
// from the same initial weights. Prints the adapter (a software one such as llvmpipe is labelled), first and
// steady seconds per step of each, their ratio, the first-step losses (same weights, same batch: they must agree),
// the trainer's GPU idle time per step and its peak GPU bytes.
//
//   npm run bench:webgpu-train -w @mednext-ts/mednext          # MedNeXt-B k3, width 8, 2x4x16x16x32, 3 steps
//   node bench/webgpu-train-step.mjs --preset B --width 32 --patch 32x32x32 --batch 2 --steps 3
//
// Under Node without a GPU, Dawn's OpenGL ES backend on Mesa llvmpipe is used (set EGL_PLATFORM=surfaceless):
// software rendering on the CPU, so its times say nothing about a GPU.
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mednext-ts/tensor3d';
import * as mednext from '../dist/index.js';
import {
  MedNeXt,
  batchDiceFocalLoss,
  createOptimizer,
  deepSupervisionLoss,
  deepSupervisionWeights,
  presetConfig,
  targetPyramid,
} from '../dist/index.js';
import { median, parseArgs, parseShape } from './common.mjs';

/** The seed recipe's Schedule-Free AdamW (SSA): lr 0.0027, no weight decay, no warmup. */
const LEARNING_RATE = 0.0027;
/** First-step losses of two float32 engines on the same weights and batch: |gpu − cpu| ≤ 1e-4·|cpu|. */
const LOSS_RTOL = 1e-4;

const args = parseArgs(process.argv.slice(2));
const patch = parseShape(String(args.patch ?? '16x16x32'), '--patch');
const batchSize = Number(args.batch ?? 2);
const steps = Number(args.steps ?? 3);
const preset = String(args.preset ?? 'B');
const kernel = Number(args.kernel ?? 3);
const width = Number(args.width ?? 8);
for (const [flag, v] of [
  ['--batch', batchSize],
  ['--steps', steps],
  ['--width', width],
]) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a positive whole number, got ${v}`);
}
process.env.EGL_PLATFORM ??= 'surfaceless';
if (typeof mednext.createWebGpuTrainer !== 'function') {
  process.stderr.write('webgpu-train-step: this build of @mednext-ts/mednext has no createWebGpuTrainer\n');
  process.exit(2);
}

const choice = await selectBackend('auto');
const config = { ...presetConfig(preset, { kernelSize: kernel, deepSupervision: true }), n_channels: width };
// Two models from the same seed: the same initial weights, one trained on each engine.
const cpuModel = MedNeXt.create(config, { seed: 0 });
const gpuModel = MedNeXt.create(config, { seed: 0 });
const { nClasses, inChannels } = cpuModel.architecture.config;
const x = tf.randomNormal([batchSize, ...patch, inChannels], 0, 1, 'float32', 1);
const y = tf.cast(tf.greater(tf.randomUniform([batchSize, ...patch, nClasses], 0, 1, 'float32', 2), 0.5), 'float32');
const batch = { x: x.dataSync(), y: y.dataSync() };
const targets = targetPyramid(y, 5);

const optimizer = createOptimizer({ kind: 'schedulefree', learningRate: LEARNING_RATE, weightDecay: 0 });
optimizer.train();
const trainer = await mednext.createWebGpuTrainer(gpuModel, {
  patchSize: patch,
  batchSize,
  deepSupervision: true,
  loss: 'dice-focal',
  optimizer: { learningRate: LEARNING_RATE, weightDecay: 0 },
});
trainer.train();

/** The CPU engine's step, as the training loop runs it (stages/train-step.ts): returns seconds and the loss. */
async function cpuStep() {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => {
    const outputs = cpuModel.forward(x, { training: true, deepSupervision: true });
    return deepSupervisionLoss(outputs, targets, (l, t) => batchDiceFocalLoss(l, t), deepSupervisionWeights(5));
  }, cpuModel.trainableVariables());
  optimizer.applyGradients(grads);
  const loss = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads)]);
  return { s: (performance.now() - t0) / 1000, loss };
}
async function gpuStep() {
  const t0 = performance.now();
  const report = await trainer.step(batch);
  return { s: (performance.now() - t0) / 1000, loss: report.loss, idleMs: report.gpuIdleMs };
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(
  `MedNeXt-${preset} k${kernel} (n_channels ${width}), ${batchSize}x${inChannels}x${patch.join('x')}, deep supervision, ` +
    `batch Dice + focal, Schedule-Free AdamW lr ${LEARNING_RATE}; ${os.cpus()[0]?.model ?? 'CPU'}, ` +
    `${os.availableParallelism()} logical CPUs; load average ${load()}`,
);
console.log(`CPU engine: backend ${choice.backend} (${choice.reason})`);
console.log(`GPU trainer: ${trainer.adapter.description}${trainer.software ? ' — SOFTWARE RENDERING on the CPU' : ''}`);
const gpu = [];
const cpu = [];
for (let r = 0; r < steps; r++) {
  const g = await gpuStep();
  const c = await cpuStep();
  gpu.push(g);
  cpu.push(c);
  console.log(
    `step ${r + 1}: gpu trainer ${g.s.toFixed(2)} s (loss ${g.loss.toFixed(6)}, GPU idle before it ` +
      `${g.idleMs.toFixed(1)} ms, the CPU step of the round before included), cpu ${c.s.toFixed(2)} s (loss ${c.loss.toFixed(6)}); load ${load()}`,
  );
}
const steady = (a) => (a.length > 1 ? median(a.slice(1).map((e) => e.s)) : a[0].s);
const relDiff = Math.abs(gpu[0].loss - cpu[0].loss) / Math.abs(cpu[0].loss);
console.log(
  `gpu trainer: first ${gpu[0].s.toFixed(2)} s, steady ${steady(gpu).toFixed(2)} s; cpu: first ${cpu[0].s.toFixed(2)} s, ` +
    `steady ${steady(cpu).toFixed(2)} s; ratio gpu/cpu (steady) ${(steady(gpu) / steady(cpu)).toFixed(2)}`,
);
console.log(
  `first-step loss gpu ${gpu[0].loss.toPrecision(8)} vs cpu ${cpu[0].loss.toPrecision(8)}: relative difference ` +
    `${relDiff.toExponential(2)} (${relDiff <= LOSS_RTOL ? 'agree' : 'DISAGREE'}, tolerance ${LOSS_RTOL}); ` +
    `peak GPU bytes ${(trainer.peakBytes() / 2 ** 20).toFixed(1)} MiB`,
);
trainer.dispose();
optimizer.dispose();
tf.dispose([x, y, ...targets]);
cpuModel.dispose();
gpuModel.dispose();
process.exit(relDiff <= LOSS_RTOL ? 0 : 1);
