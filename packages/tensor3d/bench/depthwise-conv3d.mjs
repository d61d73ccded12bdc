// Benchmark of the depthwise 3-D conv ops (reference kernels until fast ones are registered), on every
// CPU backend, against tfjs's only built-in way to do the same: tf.conv3d with a block-diagonal filter.
// Usage: npm run bench [-- --size 32,40,28 --channels 32 --repeats 3 --backends cpu,wasm]
import * as tf from '@tensorflow/tfjs-core';
import { depthwiseConv3d, depthwiseConvTranspose3d, selectBackend } from '../dist/index.js';

const args = Object.fromEntries(
  process.argv.slice(2).flatMap((a, i, all) => (a.startsWith('--') ? [[a.slice(2), all[i + 1]]] : [])),
);
const [D, H, W] = (args.size ?? '32,40,28').split(',').map(Number);
const C = Number(args.channels ?? 32);
const repeats = Number(args.repeats ?? 3);
const backends = (args.backends ?? 'cpu,wasm').split(',');

/** Median wall time of `fn` in ms, after one warm-up run; `fn` returns the tensor to wait for. */
async function time(fn) {
  const times = [];
  for (let r = 0; r <= repeats; r++) {
    const t0 = performance.now();
    const out = fn();
    await (Array.isArray(out) ? Promise.all(out.map((t) => t.data())) : out.data());
    if (r > 0) times.push(performance.now() - t0);
    tf.dispose(out);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

const gflop = (voxels, k) => (2 * voxels * C * k ** 3) / 1e9;
console.log(`depthwise conv3d k3, x [1,${D},${H},${W},${C}], median of ${repeats} after a warm-up`);
for (const backend of backends) {
  try {
    await selectBackend(backend);
  } catch (e) {
    console.log(`${backend}: unavailable (${e.message})`);
    continue;
  }
  const x = tf.randomNormal([1, D, H, W, C]);
  const f = tf.randomNormal([3, 3, 3, C]);
  const dense = tf.mul(tf.expandDims(f, 4), tf.reshape(tf.eye(C), [1, 1, 1, C, C]));
  const dy = tf.randomNormal([1, D, H, W, C]);
  const half = tf.randomNormal([1, Math.ceil(D / 2), Math.ceil(H / 2), Math.ceil(W / 2), C]);
  const v = D * H * W;
  const ours = await time(() => depthwiseConv3d(x, f, { strides: 1, padding: 1 }));
  const ref = await time(() => tf.conv3d(x, dense, 1, 'same'));
  const down = await time(() => depthwiseConv3d(x, f, { strides: 2, padding: 1 }));
  const up = await time(() => depthwiseConvTranspose3d(half, f, { strides: 2, padding: 1 }));
  const grads = await time(() => tf.grads((a, b) => depthwiseConv3d(a, b, { strides: 1, padding: 1 }))([x, f], dy));
  const fmt = (ms, g) => `${ms.toFixed(0)} ms (${((g / ms) * 1e3).toFixed(2)} GFLOP/s)`;
  console.log(`${backend}:`);
  console.log(`  depthwiseConv3d s1            ${fmt(ours, gflop(v, 3))}`);
  console.log(
    `  tf.conv3d block-diagonal      ${fmt(ref, gflop(v, 3) * C)} -> ours is ${(ref / ours).toFixed(1)}x faster`,
  );
  console.log(`  depthwiseConv3d s2 (down)     ${fmt(down, gflop(v / 8, 3))}`);
  console.log(
    `  depthwiseConvTranspose3d s2   ${fmt(up, gflop(Math.ceil(D / 2) * Math.ceil(H / 2) * Math.ceil(W / 2), 3))}`,
  );
  console.log(`  dx + dfilter (s1)             ${fmt(grads, 2 * gflop(v, 3))}`);
  tf.dispose([x, f, dense, dy, half]);
}
