// One training gradient (batch 1, forward + backward, BCE-with-logits on the main output) on the WebGPU engine
// (`WebGpuNetwork.valueAndGrads`: per-block recompute, the backward WGSL kernels) against the CPU engine
// (backend `auto`, `MedNeXt.valueAndGrads` through tfjs autograd) in the same run, interleaved round by round.
// Prints the adapter (a software one such as llvmpipe is labelled), first and steady seconds per gradient, the
// ratio, the largest gradient difference relative to its tensor's scale, and the engine's peak GPU bytes.
//
//   npm run bench:webgpu-train -w @mednext-ts/mednext                       # MedNeXt-S k3, 1x4x16³, 3 rounds
//   node bench/webgpu-train-step.mjs --preset B --patch 32x32x32 --rounds 2
//
// Under Node without a GPU, Dawn's OpenGL ES backend on Mesa llvmpipe is used (set EGL_PLATFORM=surfaceless):
// software rendering on the CPU, so its times say nothing about a GPU.
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mednext-ts/tensor3d';
import { MedNeXt, bceWithLogits, createWebGpuNetwork, presetConfig, toNdhwc } from '../dist/index.js';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const patchText = option('patch', '16x16x16');
const patch = patchText.split('x').map(Number);
if (patch.length !== 3 || patch.some((n) => !Number.isInteger(n) || n <= 0 || n % 16 !== 0)) {
  throw new Error(`--patch must be DxHxW with positive multiples of 16, got ${patchText}`);
}
const rounds = Number(option('rounds', '3'));
const preset = option('preset', 'S');
const kernel = Number(option('kernel', '3'));
process.env.EGL_PLATFORM ??= 'surfaceless';

const choice = await selectBackend('auto');
const config = presetConfig(preset, { kernelSize: kernel });
const model = MedNeXt.create(config, { seed: 0 });
const classes = model.architecture.config.nClasses;
const x = tf.randomNormal([1, 4, ...patch], 0, 1, 'float32', 1);
const target = tf.cast(tf.greater(tf.randomUniform([1, classes, ...patch], 0, 1, 'float32', 2), 0.7), 'float32');
const xData = x.dataSync();
const targetData = target.dataSync();
const net = await createWebGpuNetwork(model);

async function cpuStep() {
  const t0 = performance.now();
  const { value, grads } = model.valueAndGrads(() =>
    tf.tidy(() =>
      bceWithLogits(model.forward(toNdhwc(x), { training: true, deepSupervision: false })[0], toNdhwc(target)),
    ),
  );
  const out = new Map();
  for (const [name, g] of grads) out.set(name, await g.data());
  tf.dispose([value, ...grads.values()]);
  return { s: (performance.now() - t0) / 1000, grads: out };
}
async function gpuStep() {
  const t0 = performance.now();
  const { grads } = await net.valueAndGrads(
    xData,
    patch,
    ([z]) => [z.map((v, i) => (1 / (1 + Math.exp(-v)) - targetData[i]) / z.length)],
    { deepSupervision: false },
  );
  return { s: (performance.now() - t0) / 1000, grads };
}

const load = (await import('node:os'))
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
console.log(`MedNeXt-${preset} k${kernel}, 1x4x${patchText}, BCE gradient (DS off); load average ${load}`);
console.log(`CPU engine: backend ${choice.backend} (${choice.reason})`);
console.log(
  `WebGPU engine: ${net.adapter.description} via ${net.adapter.backend ?? 'navigator.gpu'}${net.software ? ' — SOFTWARE RENDERING on the CPU' : ''}`,
);
const gpu = [];
const cpu = [];
let worst = 0;
for (let r = 0; r < rounds; r++) {
  const g = await gpuStep();
  const c = await cpuStep();
  gpu.push(g.s);
  cpu.push(c.s);
  for (const [name, ref] of c.grads) {
    const got = g.grads.get(name);
    if (!got) throw new Error(`the WebGPU engine returned no gradient for ${name}`);
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < ref.length; i++) {
      scale = Math.max(scale, Math.abs(ref[i]));
      diff = Math.max(diff, Math.abs(got[i] - ref[i]));
    }
    // conv1 biases have a zero gradient in theory: their absolute difference is reported instead.
    worst = Math.max(worst, name.endsWith('conv1.bias') || scale === 0 ? diff : diff / scale);
  }
  console.log(`round ${r + 1}: webgpu ${g.s.toFixed(2)} s, cpu ${c.s.toFixed(2)} s`);
}
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const steady = (a) => (a.length > 1 ? median(a.slice(1)) : a[0]);
console.log(
  `webgpu: first ${gpu[0].toFixed(2)} s, steady ${steady(gpu).toFixed(2)} s; cpu: first ${cpu[0].toFixed(2)} s, ` +
    `steady ${steady(cpu).toFixed(2)} s; ratio webgpu/cpu (steady) ${(steady(gpu) / steady(cpu)).toFixed(2)}`,
);
console.log(
  `largest gradient difference / tensor scale ${worst.toExponential(2)}; ` +
    `peak GPU bytes (forward + backward) ${(net.peakBytes() / 2 ** 20).toFixed(1)} MiB`,
);
net.dispose();
model.dispose();
process.exit(0);
