// The pointwise weight gradient on WebGPU (`pointwiseConv3dWeightGrad`, the channelProduct kernel: dW = dy · xᵀ and
// db = Σ dy over voxels) alone, on the channel/voxel shapes of MedNeXt-B's inverted bottlenecks at a 32³ patch.
// With --baseline, another build's `dist/webgpu/index.js` runs the same products on the same device in the same
// run, interleaved, and the ratio and the largest difference between the two are printed.
//
//   npx tsc -b && EGL_PLATFORM=surfaceless node bench/webgpu-channel-product.mjs [--rounds 5] [--baseline <dist/webgpu/index.js>]
//
// Under Node without a GPU, Dawn's OpenGL ES backend on Mesa llvmpipe runs the kernels on the CPU: its times say
// nothing about a GPU. Times wait for the readback of dW and db (a 4-byte to 256 KiB copy).
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { create, globals } from 'webgpu';

import * as ours from '../dist/webgpu/index.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const ROUNDS = Number(arg('rounds', '5'));
const baselinePath = arg('baseline', '');
const baseline = baselinePath ? await import(pathToFileURL(path.resolve(baselinePath)).href) : null;

Object.assign(globalThis, globals);
process.env.EGL_PLATFORM ??= 'surfaceless';
const gpu = create([`backend=${arg('backend', 'opengles')}`]);
const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
if (!adapter) throw new Error('webgpu-channel-product: no WebGPU adapter');
const device = await adapter.requestDevice({
  requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize },
});

/** [outChannels M, inChannels N, voxels, B transform]: MedNeXt-B (width 32, expansion 4 at 32³ levels 0-1). */
const SHAPES = [
  [128, 32, 32 ** 3, 'norm'],
  [32, 128, 32 ** 3, 'scaleShift'],
  [256, 64, 16 ** 3, 'norm'],
  [64, 256, 16 ** 3, 'scaleShift'],
];

let seed = 1;
const random = (n) =>
  Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);

/** One runtime of `lib` on the shared device with the inputs of `shape` uploaded; `run()` times one product. */
function setup(lib, [M, N, V, transform], data) {
  const rt = new lib.GpuRuntime(device);
  const input = rt.upload(data.x, 'x');
  const gradOutput = rt.upload(data.dy, 'dy');
  const extra =
    transform === 'norm'
      ? { normalized: { stats: rt.upload(data.stats, 'stats'), affine: rt.upload(data.affine, 'affine') } }
      : { scaleShift: rt.upload(data.stats, 'scaleShift') };
  const gradWeight = rt.tensor(M * N, 'dW');
  const gradBias = rt.tensor(M, 'db');
  return async () => {
    const t0 = performance.now();
    lib.pointwiseConv3dWeightGrad(rt, {
      input,
      gradOutput,
      gradWeight,
      gradBias,
      inChannels: N,
      outChannels: M,
      inSize: [1, 1, V],
      ...extra,
    });
    const [dw, db] = await rt.finish([gradWeight, gradBias]);
    return { ms: performance.now() - t0, dw, db };
  };
}

const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const load = os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
console.log(
  `${adapter.info?.description ?? 'adapter'} (${os.cpus().length} CPUs, load average ${load}), ${ROUNDS} rounds after a warm-up`,
);
for (const shape of SHAPES) {
  const [M, N, V, transform] = shape;
  const data = {
    x: random(N * V),
    dy: random(M * V),
    stats: Float32Array.from(random(2 * N), (v, i) => (i % 2 ? 1 + Math.abs(v) : v)),
    affine: random(2 * N),
  };
  const runs = [['ours', setup(ours, shape, data)]];
  if (baseline) runs.push(['baseline', setup(baseline, shape, data)]);
  const times = new Map(runs.map(([name]) => [name, []]));
  const last = new Map();
  for (let r = 0; r <= ROUNDS; r++) {
    for (const [name, run] of runs) {
      const res = await run();
      if (r > 0) times.get(name).push(res.ms);
      last.set(name, res);
    }
  }
  let line = `dW ${M}x${N} over ${V} voxels (${transform}): ours ${median(times.get('ours')).toFixed(1)} ms`;
  if (baseline) {
    const a = last.get('ours');
    const b = last.get('baseline');
    let diff = 0;
    let scale = 0;
    for (const [p, q] of [
      [a.dw, b.dw],
      [a.db, b.db],
    ]) {
      for (let i = 0; i < p.length; i++) {
        diff = Math.max(diff, Math.abs(p[i] - q[i]));
        scale = Math.max(scale, Math.abs(q[i]));
      }
    }
    const base = median(times.get('baseline'));
    line += `, baseline ${base.toFixed(1)} ms, ratio baseline/ours ${(base / median(times.get('ours'))).toFixed(2)}`;
    line += `, max |diff| ${diff.toExponential(2)} (max |baseline| ${scale.toExponential(2)})`;
  }
  console.log(line);
}
process.exit(0);
