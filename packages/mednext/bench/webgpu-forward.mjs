// MedNeXt forward on the WebGPU engine (createWebGpuNetwork: the project's WGSL kernels, one command encoder per
// forward) against the CPU engine (backend `auto`: tfjs-wasm with the project's WebAssembly SIMD kernels) in the
// same run, interleaved round by round. Prints the adapter (a software one such as llvmpipe is labelled), the
// first and steady forward times of each, the ratio, the max |diff| of the logits, and the engine's peak GPU bytes.
//
//   npm run bench:webgpu                                   # MedNeXt-B k3, 1x4x64x80x48, 3 rounds
//   node bench/webgpu-forward.mjs --preset S --patch 32x32x32 --rounds 2
//
// Under Node without a GPU, Dawn's OpenGL ES backend on Mesa llvmpipe is used (set EGL_PLATFORM=surfaceless):
// software rendering on the CPU, so its times say nothing about a GPU.
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mednext-ts/tensor3d';
import { MedNeXt, createWebGpuNetwork, presetConfig, summarize, toNcdhw, toNdhwc } from '../dist/index.js';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const patchText = option('patch', '64x80x48');
const patch = patchText.split('x').map(Number);
if (patch.length !== 3 || patch.some((n) => !Number.isInteger(n) || n % 16 !== 0)) {
  throw new Error(`--patch must be DxHxW with multiples of 16, got ${patchText}`);
}
const rounds = Number(option('rounds', '3'));
const preset = option('preset', 'B');
const kernel = Number(option('kernel', '3'));
process.env.EGL_PLATFORM ??= 'surfaceless';

const choice = await selectBackend('auto');
const config = presetConfig(preset, { kernelSize: kernel });
const gflop = summarize(config, patch).totalFlops / 1e9;
const model = MedNeXt.create(config, { seed: 0 });
const x = tf.randomNormal([1, 4, ...patch], 0, 1, 'float32', 1);
const xData = x.dataSync();
const net = await createWebGpuNetwork(model);

async function cpuForward() {
  const t0 = performance.now();
  const y = tf.tidy(() => toNcdhw(model.forward(toNdhwc(x), { deepSupervision: false })[0]));
  const data = await y.data();
  y.dispose();
  return { s: (performance.now() - t0) / 1000, data };
}
async function gpuForward() {
  const t0 = performance.now();
  const [data] = await net.forward(xData, patch, { deepSupervision: false });
  return { s: (performance.now() - t0) / 1000, data };
}

const load = (await import('node:os'))
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
console.log(`MedNeXt-${preset} k${kernel}, 1x4x${patchText}, ${gflop.toFixed(1)} GFLOP; load average ${load}`);
console.log(`CPU engine: backend ${choice.backend} (${choice.reason})`);
console.log(
  `WebGPU engine: ${net.adapter.description} via ${net.adapter.backend ?? 'navigator.gpu'}${net.software ? ' — SOFTWARE RENDERING on the CPU' : ''}`,
);
const gpu = [];
const cpu = [];
let maxDiff = 0;
for (let r = 0; r < rounds; r++) {
  const g = await gpuForward();
  const c = await cpuForward();
  gpu.push(g.s);
  cpu.push(c.s);
  for (let i = 0; i < g.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(g.data[i] - c.data[i]));
  console.log(`round ${r + 1}: webgpu ${g.s.toFixed(2)} s, cpu ${c.s.toFixed(2)} s`);
}
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const steady = (a) => (a.length > 1 ? median(a.slice(1)) : a[0]);
console.log(
  `webgpu: first ${gpu[0].toFixed(2)} s, steady ${steady(gpu).toFixed(2)} s (${(gflop / steady(gpu)).toFixed(2)} GFLOP/s); ` +
    `cpu: first ${cpu[0].toFixed(2)} s, steady ${steady(cpu).toFixed(2)} s (${(gflop / steady(cpu)).toFixed(2)} GFLOP/s)`,
);
console.log(
  `ratio webgpu/cpu (steady) ${(steady(gpu) / steady(cpu)).toFixed(2)}; max |diff| ${maxDiff.toExponential(2)}; ` +
    `peak GPU bytes ${(net.peakBytes() / 2 ** 20).toFixed(1)} MiB`,
);
net.dispose();
model.dispose();
process.exit(0);
