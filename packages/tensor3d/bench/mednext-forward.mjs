/**
 * MedNeXt-B (k3, 4 in, 3 out, no deep supervision) forward on one 1x4x128x160x112 patch using only the
 * WebAssembly kernels (fused blocks, GEMMs for stem / res_conv / out), random weights: what the kernels can do
 * for a whole network, before any tfjs integration. Architecture per shared/spec/mednext.md §1-2 (do_res and
 * do_res_up_down on, exp_r [2,3,4,4,4,4,4,3,2], two blocks per stage).
 *
 *   node bench/mednext-forward.mjs [--threads 2] [--quick] [--runs 2]
 *
 * Prints wall and process CPU seconds per forward, effective GFLOP/s (365.3 GFLOP per full patch, convs only)
 * and peak RSS. Compare with onnxruntime-node on the official export (shared/research/ort-peer-bench.md:
 * 8.8 s at 2 threads, spinning off, on a quiet machine; 12.5 GB peak).
 */
import os from 'node:os';
import { wasmKernels as K } from '../dist/index.js';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const QUICK = argv.includes('--quick');
const THREADS = opt('--threads', 2);
const RUNS = opt('--runs', 2);
const S = QUICK ? [64, 80, 48] : [128, 160, 112]; // every axis divisible by 16
const C0 = 32;
const EXP = [2, 3, 4, 4, 4, 4, 4, 3, 2];
const BLOCKS = 2;
const K3 = 3;

let seed = 1;
function rand(n, scale) {
  const a = new Float32Array(n);
  let s = seed++ * 2654435761;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = (((s >>> 0) / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}

function blockWeights(c, e, cout) {
  return {
    k: K3,
    dwFilter: rand(27 * c, 0.2),
    dwBias: rand(c, 0.1),
    gamma: rand(c, 0.1).map((v) => 1 + v),
    beta: rand(c, 0.1),
    w2: rand(c * e, 1 / Math.sqrt(c)),
    b2: rand(e, 0.1),
    w3: rand(e * cout, 1 / Math.sqrt(e)),
    b3: rand(cout, 0.1),
  };
}

const vox = (s) => s[0] * s[1] * s[2];
const half = (s) => s.map((n) => Math.ceil(n / 2));

/** Keeps voxels with even coordinates: [D,H,W,C] -> [ceil(D/2), ..., C]. */
function subsample(x, s, c) {
  const o = half(s);
  const out = new Float32Array(vox(o) * c);
  let q = 0;
  for (let d = 0; d < s[0]; d += 2)
    for (let h = 0; h < s[1]; h += 2)
      for (let w = 0; w < s[2]; w += 2) {
        const p = ((d * s[1] + h) * s[2] + w) * c;
        out.set(x.subarray(p, p + c), q);
        q += c;
      }
  return out;
}

/** Up-block residual before padding: bias everywhere, W^T x[a,b,c] + bias at (2a,2b,2c); shape (2n-1)^3. */
function spreadResidual(y, s, cout, bias) {
  const o = s.map((n) => 2 * n - 1);
  const out = new Float32Array(vox(o) * cout);
  for (let i = 0; i < out.length; i += cout) out.set(bias, i);
  let q = 0;
  for (let d = 0; d < s[0]; d++)
    for (let h = 0; h < s[1]; h++)
      for (let w = 0; w < s[2]; w++) {
        out.set(y.subarray(q, q + cout), ((2 * d * o[1] + 2 * h) * o[2] + 2 * w) * cout);
        q += cout;
      }
  return out;
}

/** Zero-pads one voxel at the front of each axis ((2n-1)^3 -> (2n)^3) and adds the skip connection. */
function padFrontAdd(y, s, c, skip) {
  const o = s.map((n) => n + 1);
  const out = new Float32Array(vox(o) * c);
  for (let d = 0; d < s[0]; d++)
    for (let h = 0; h < s[1]; h++) {
      const src = (d * s[1] + h) * s[2] * c;
      const dst = (((d + 1) * o[1] + h + 1) * o[2] + 1) * c;
      out.set(y.subarray(src, src + s[2] * c), dst);
    }
  for (let i = 0; i < out.length; i++) out[i] += skip[i];
  return out;
}

// weights
const W = { enc: [], down: [], bott: [], up: [], dec: [] };
const stem = { w: rand(4 * C0, 0.5), b: rand(C0, 0.1) };
for (let s = 0; s < 4; s++) {
  const c = C0 << s;
  W.enc.push(Array.from({ length: BLOCKS }, () => blockWeights(c, EXP[s] * c, c)));
  W.down.push({
    blk: blockWeights(c, EXP[s + 1] * c, 2 * c),
    rw: rand(c * 2 * c, 1 / Math.sqrt(c)),
    rb: rand(2 * c, 0.1),
  });
}
W.bott = Array.from({ length: BLOCKS }, () => blockWeights(16 * C0, EXP[4] * 16 * C0, 16 * C0));
for (let s = 3; s >= 0; s--) {
  const c = C0 << s; // output channels of up_s
  const e = EXP[8 - s];
  W.up[s] = { blk: blockWeights(2 * c, e * 2 * c, c), rw: rand(2 * c * c, 1 / Math.sqrt(2 * c)), rb: rand(c, 0.1) };
  W.dec[s] = Array.from({ length: BLOCKS }, () => blockWeights(c, e * c, c));
}
const outW = { w: rand(C0 * 3, 0.2), b: rand(3, 0.1) };

function forward(rt, input) {
  let s = S;
  let x = K.matmulBias(rt, input, vox(s), 4, stem.w, C0, { bias: stem.b });
  const skips = [];
  for (let st = 0; st < 4; st++) {
    const c = C0 << st;
    for (const b of W.enc[st]) x = K.invertedBottleneck(rt, x, s, b, { kind: 'block', addInput: true }).data;
    skips.push({ x, s });
    const res = K.matmulBias(rt, subsample(x, s, c), vox(half(s)), c, W.down[st].rw, 2 * c, { bias: W.down[st].rb });
    x = K.invertedBottleneck(rt, x, s, W.down[st].blk, { kind: 'down', residual: res }).data;
    s = half(s);
  }
  for (const b of W.bott) x = K.invertedBottleneck(rt, x, s, b, { kind: 'block', addInput: true }).data;
  for (let st = 3; st >= 0; st--) {
    const c = C0 << st;
    const r = K.matmulBias(rt, x, vox(s), 2 * c, W.up[st].rw, c);
    const res = spreadResidual(r, s, c, W.up[st].rb);
    const y = K.invertedBottleneck(rt, x, s, W.up[st].blk, { kind: 'up', residual: res });
    x = padFrontAdd(y.data, y.shape.slice(0, 3), c, skips[st].x);
    s = skips[st].s;
    for (const b of W.dec[st]) x = K.invertedBottleneck(rt, x, s, b, { kind: 'block', addInput: true }).data;
  }
  return K.matmulBias(rt, x, vox(s), C0, outW.w, 3, { bias: outW.b });
}

const rt = await K.createKernelRuntime({ threads: THREADS });
const input = rand(vox(S) * 4, 1);
const gflop = 365.3 * (vox(S) / (128 * 160 * 112));
console.log(
  `MedNeXt-B k3 forward, patch ${S.join('x')}, ${rt.threads} thread(s)${rt.fallbackReason ? ` (${rt.fallbackReason})` : ''}, ` +
    `machine ${os.cpus()[0]?.model} x${os.cpus().length}, load ${os.loadavg()[0].toFixed(1)}`,
);
for (let i = 0; i < RUNS; i++) {
  const c = process.cpuUsage();
  const t = performance.now();
  const y = forward(rt, input);
  const wall = (performance.now() - t) / 1000;
  const d = process.cpuUsage(c);
  const cpu = (d.user + d.system) / 1e6;
  let sum = 0;
  for (let j = 0; j < y.length; j += 997) sum += y[j];
  console.log(
    `run ${i}: ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU, ${(gflop / wall).toFixed(1)} GFLOP/s, ` +
      `peak RSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB, kernel memory ${(rt.memory.buffer.byteLength / 2 ** 30).toFixed(2)} GiB (checksum ${sum.toFixed(3)})`,
  );
}
await rt.dispose();
