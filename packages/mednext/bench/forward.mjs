// Baseline forward time of MedNeXt-B k3 (4 inputs, 3 classes, DS off, PyTorch-default random weights) per
// patch, on the backend `auto` picks, with the reference tfjs ops only (no fast kernels): the starting point
// the performance work improves on. Prints the time, the effective GFLOP/s (analytic conv count, spec §2.3)
// and, where the patch matches a measured one, the ratio to the official PyTorch model on this 2-core machine
// (shared/research/mednext-torch-bench.md, torch 1.13 CPU, 2 threads, idle machine).
//
//   npm run bench:forward                                  # 1x4x128x160x112 (minutes)
//   node bench/forward.mjs --patch 64x80x48 --runs 2 --backend wasm
//
// Options: --patch DxHxW (128x160x112)  --runs N (1 timed run after the first forward; 0 = report the first)
//          --warmup N (1, counting the first forward)
//          --backend auto|wasm|cpu|webgpu|tensorflow  --preset S|B|M|L (B)  --kernel 3|5 (3)
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mednext-ts/tensor3d';
import { MedNeXt, presetConfig, summarize, toNcdhw, toNdhwc } from '../dist/index.js';

/** PyTorch forward seconds of the official MedNeXt-B k3 (median of idle-machine runs), by patch. */
const TORCH_B_K3 = { '128x160x112': 100.9, '64x80x48': 6.8 };

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const patchText = option('patch', '128x160x112');
const patch = patchText.split('x').map(Number);
if (patch.length !== 3 || patch.some((n) => !Number.isInteger(n) || n % 16 !== 0)) {
  throw new Error(`--patch must be DxHxW with multiples of 16, got ${patchText}`);
}
const runs = Number(option('runs', '1'));
const warmup = Number(option('warmup', '1'));
const preset = option('preset', 'B');
const kernel = Number(option('kernel', '3'));

const choice = await selectBackend(option('backend', 'auto'));
const config = presetConfig(preset, { kernelSize: kernel });
const gflop = summarize(config, patch).totalFlops / 1e9;
const model = MedNeXt.create(config, { seed: 0 });
const x = tf.randomNormal([1, 4, ...patch], 0, 1, 'float32', 1);

async function forwardOnce() {
  const t0 = performance.now();
  const y = tf.tidy(() => toNcdhw(model.forward(toNdhwc(x))[0]));
  await y.data();
  y.dispose();
  return (performance.now() - t0) / 1000;
}

console.log(
  `MedNeXt-${preset} k${kernel}, 1x4x${patchText}, ${gflop.toFixed(1)} GFLOP, backend ${choice.backend} (${choice.reason})`,
);
const first = await forwardOnce();
console.log(`first forward: ${first.toFixed(2)} s`);
for (let i = 1; i < warmup; i++) await forwardOnce();
const times = [];
for (let i = 0; i < runs; i++) times.push(await forwardOnce());
times.sort((a, b) => a - b);
// --runs 0: a single (first) forward is the measurement, for patches that take many minutes.
const med = runs > 0 ? times[Math.floor(times.length / 2)] : first;
const rss = process.resourceUsage().maxRSS / 1024;
console.log(
  (runs > 0
    ? `forward: median ${med.toFixed(2)} s of ${runs} (${times.map((t) => t.toFixed(2)).join(', ')}), `
    : `forward (first only): ${med.toFixed(2)} s, `) +
    `${(gflop / med).toFixed(2)} GFLOP/s, peak RSS ${rss.toFixed(0)} MiB`,
);
const ref = preset === 'B' && kernel === 3 ? TORCH_B_K3[patchText] : undefined;
if (ref !== undefined) {
  console.log(
    `PyTorch (official, 2 threads): ${ref} s  ->  ratio ours/PyTorch = ${(med / ref).toFixed(2)} (below 1 = faster)`,
  );
} else {
  console.log('no PyTorch reference for this patch/model (have B k3 at 128x160x112 and 64x80x48)');
}
model.dispose();
