// The cost of the WebGPU engine's channel-split path: the same MedNeXt and input on two networks of the same
// adapter, one with the adapter's storage-binding limit (every block fused) and one with a lower `maxBindingBytes`
// (the top-level tensors split into channel groups, their blocks unfused), interleaved round by round. Prints the
// blocks that took the split path, first and steady forward times of each, their ratio, the max |diff| between the
// two and each network's peak GPU bytes.
//
//   npm run bench:webgpu-split                                         # width 8, 1x4x32^3, 256 KiB limit
//   node bench/webgpu-split.mjs --width 16 --patch 64x64x32 --limit-kib 1024 --rounds 3
//
// Under Node without a GPU, Dawn's OpenGL ES backend on Mesa llvmpipe is used (EGL_PLATFORM=surfaceless):
// software rendering on the CPU, so the times say nothing about a GPU; the peak bytes do.
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mednext-ts/tensor3d';
import { MedNeXt, createWebGpuNetwork } from '../dist/index.js';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const patchText = option('patch', '32x32x32');
const patch = patchText.split('x').map(Number);
if (patch.length !== 3 || patch.some((n) => !Number.isInteger(n) || n <= 0 || n % 16 !== 0)) {
  throw new Error(`--patch must be DxHxW with positive multiples of 16, got ${patchText}`);
}
const rounds = Number(option('rounds', '3'));
const width = Number(option('width', '8'));
const limitKiB = Number(option('limit-kib', '256'));
if (!(rounds >= 1) || !(width >= 1) || !(limitKiB >= 1)) throw new Error('--rounds, --width, --limit-kib must be >= 1');
process.env.EGL_PLATFORM ??= 'surfaceless';

await selectBackend('cpu');
const config = { in_channels: 4, n_channels: width, n_classes: 3, exp_r: 2, kernel_size: 3, grn: true };
const model = MedNeXt.create(config, { seed: 0 });
const x = tf.randomNormal([1, 4, ...patch], 0, 1, 'float32', 1).dataSync();
const fused = await createWebGpuNetwork(model);
const split = await createWebGpuNetwork(model, { maxBindingBytes: limitKiB * 1024 });

async function time(net) {
  const t0 = performance.now();
  const [data] = await net.forward(x, patch, { deepSupervision: false });
  return { s: (performance.now() - t0) / 1000, data };
}

const load = (await import('node:os'))
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
console.log(`MedNeXt width ${width}, exp_r 2, k3, GRN, 1x4x${patchText}; load average ${load}`);
console.log(`adapter: ${fused.adapter.description}${fused.software ? ' (SOFTWARE RENDERING on the CPU)' : ''}`);
const times = { fused: [], split: [] };
let maxDiff = 0;
for (let r = 0; r < rounds; r++) {
  const a = await time(fused);
  const b = await time(split);
  times.fused.push(a.s);
  times.split.push(b.s);
  for (let i = 0; i < a.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.data[i] - b.data[i]));
  console.log(`round ${r + 1}: fused ${a.s.toFixed(2)} s, split ${b.s.toFixed(2)} s`);
}
const splitBlocks = split
  .lastBlockPaths()
  .filter((p) => p.path === 'split')
  .map((p) => p.block);
if (fused.lastBlockPaths().some((p) => p.path === 'split')) throw new Error('the unlimited network split a block');
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const steady = (a) => (a.length > 1 ? median(a.slice(1)) : a[0]);
const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
console.log(
  `split path (limit ${limitKiB} KiB): ${splitBlocks.length} of ${split.lastBlockPaths().length} blocks: ${splitBlocks.join(', ')}`,
);
console.log(
  `fused: first ${times.fused[0].toFixed(2)} s, steady ${steady(times.fused).toFixed(2)} s, peak ${mib(fused.peakBytes())}; ` +
    `split: first ${times.split[0].toFixed(2)} s, steady ${steady(times.split).toFixed(2)} s, peak ${mib(split.peakBytes())}`,
);
console.log(
  `ratio split/fused (steady) ${(steady(times.split) / steady(times.fused)).toFixed(2)}; max |diff| ${maxDiff.toExponential(2)}`,
);
fused.dispose();
split.dispose();
model.dispose();
