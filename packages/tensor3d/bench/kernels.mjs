/**
 * Benchmark of the WebAssembly SIMD kernels at MedNeXt-B stage-0 shapes (patch 128x160x112), one and two
 * threads, against the same ops in onnxruntime-node (when installed) in the same run.
 *
 *   npm run bench -w @mednext-ts/tensor3d            (full size; ~2 GB of memory for ours, ~3 GB for ORT)
 *   node bench/kernels.mjs --quick                    (1/8 of the voxels, a smoke run)
 *   node bench/kernels.mjs --no-ort                   (skip onnxruntime)
 *
 * Ours is timed two ways: "kernel" = operands already in kernel memory (what a fused pipeline sees) and, for
 * the ops ORT also runs, "e2e" = through the array API, copying the input in and the output out (like ORT's
 * session.run). Times are medians of 3 runs after a warm-up (2 for ORT, whose second run still plans
 * memory); the minimum is shown too because this 2-vCPU box is shared. GFLOP/s = 2 x multiply-adds / time.
 */
import os from 'node:os';
import { wasmKernels as K } from '../dist/index.js';
import { graphModel, oneNodeModel } from './onnx-proto.mjs';

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const REPS = 3;
const [D, H, W] = QUICK ? [64, 80, 56] : [128, 160, 112];
const V = D * H * W;
const C = 32;

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0] };
}

/** Wall and process CPU seconds (user + system, all threads) of each run; medians of both. */
async function timeitAsync(fn, warmups = 1, reps = REPS) {
  for (let i = 0; i < warmups; i++) await fn();
  const times = [];
  const cpus = [];
  for (let i = 0; i < reps; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    await fn();
    times.push((performance.now() - t) / 1000);
    const d = process.cpuUsage(c);
    cpus.push((d.user + d.system) / 1e6);
  }
  return { ...stats(times), cpu: stats(cpus).median };
}
const timeit = timeitAsync;

function fill(view, seed) {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < view.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    view[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return view;
}

const rows = [];
function record(op, impl, threads, t, gflop) {
  rows.push({ op, impl, threads, t, gflop });
  const rate = gflop ? `${(gflop / t.median).toFixed(2)} GFLOP/s` : '';
  // per CPU-second: immune to waiting for a core on a shared box (a lower bound of the uncontended rate)
  const cpuRate = gflop ? `(${(gflop / t.cpu).toFixed(2)} per CPU-s)` : '';
  console.log(
    `${op.padEnd(44)} ${impl.padEnd(12)} ${threads}T  median ${t.median.toFixed(3)} s  min ${t.min.toFixed(3)} s  cpu ${t.cpu.toFixed(3)} s  ${rate} ${cpuRate}`,
  );
}

console.log(
  `machine: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(`patch ${D}x${H}x${W} (${V} voxels), C = ${C}${QUICK ? ' (quick)' : ''}\n`);

// ---------------------------------------------------------------------------------------------- ours
const rt = await K.createKernelRuntime({ threads: 2 });
console.log(
  `kernels: threads ${rt.threads}${rt.fallbackReason ? ` (fallback: ${rt.fallbackReason})` : ''}, relaxed-SIMD FMA ${rt.relaxedSimd}\n`,
);
const bigA = rt.alloc(V * C * 4);
const bigB = rt.alloc(V * 4 * C * 4);
fill(rt.f32(bigA, V * C), 1);
const small = (data) => rt.put(data);

const dwCases = [
  { op: `depthwise k3 s1 ${D}x${H}x${W}x${C}`, k: 3, stride: 1, tr: false, inS: [D, H, W], c: C },
  { op: `depthwise k5 s1 ${D}x${H}x${W}x${C}`, k: 5, stride: 1, tr: false, inS: [D, H, W], c: C },
  { op: `depthwise k7 s1 ${D}x${H}x${W}x${C}`, k: 7, stride: 1, tr: false, inS: [D, H, W], c: C },
  { op: `depthwise k3 s2 (down_0) ${D}x${H}x${W}x${C}`, k: 3, stride: 2, tr: false, inS: [D, H, W], c: C },
  {
    op: `transposed k3 s2 (up_0) ${D / 2}x${H / 2}x${W / 2}x${2 * C}`,
    k: 3,
    stride: 2,
    tr: true,
    inS: [D / 2, H / 2, W / 2],
    c: 2 * C,
  },
];
for (const dc of dwCases) {
  const p = dc.k >> 1;
  const outS = dc.inS.map((n) => (dc.tr ? K.convTransposeOutSize(n, dc.k, p) : K.convOutSize(n, dc.k, dc.stride, p)));
  const filter = small(fill(new Float32Array(dc.k ** 3 * dc.c), 2));
  const bias = small(fill(new Float32Array(dc.c), 3));
  const taps = dc.k ** 3;
  // useful FLOPs: forward = output voxels x taps; transposed = input voxels x taps (every tap of every input)
  const gflop = (2 * taps * dc.c * (dc.tr ? dc.inS : outS).reduce((a, b) => a * b)) / 1e9;
  for (const threads of [1, 2]) {
    rt.activeThreads = Math.min(threads, rt.threads);
    const t = await timeit(() =>
      K.depthwiseInMemory(rt, {
        x: bigA,
        y: bigB,
        filter,
        bias,
        spatial: dc.inS,
        outSpatial: outS,
        c: dc.c,
        k: dc.k,
        stride: dc.stride,
        pad: p,
        transposed: dc.tr,
      }),
    );
    record(dc.op, 'ours kernel', rt.activeThreads, t, gflop);
  }
}

async function gemmCase(op, m, k, n, opts) {
  const mark = rt.mark();
  const nrv = 4;
  const nw = 4 * nrv;
  const packedB = rt.put(K.packPanels(fill(new Float32Array(k * n), 5), k, n, nrv));
  const packedBias = rt.put(fill(new Float32Array(Math.ceil(n / nw) * nw), 6));
  const gflop = (2 * m * k * n) / 1e9;
  for (const threads of [1, 2]) {
    rt.activeThreads = Math.min(threads, rt.threads);
    const t = await timeit(() =>
      K.gemmInMemory(rt, { a: opts.a, packedB, packedBias, c: opts.c, residual: opts.residual ?? 0 }, m, k, n, {
        gelu: opts.gelu,
      }),
    );
    record(op, 'ours kernel', rt.activeThreads, t, gflop);
  }
  rt.release(mark);
}
await gemmCase(`pointwise ${V}x${C} -> ${4 * C}`, V, C, 4 * C, { a: bigA, c: bigB });
await gemmCase(`pointwise ${V}x${C} -> ${2 * C} + GELU`, V, C, 2 * C, { a: bigA, c: bigB, gelu: true });
await gemmCase(`pointwise ${V}x${4 * C} -> ${C} + residual`, V, 4 * C, C, { a: bigB, c: bigA, residual: bigA });
// GEMM peak: a compute-bound square-ish shape
await gemmCase('GEMM peak 131072x256 -> 256', 131072, 256, 256, { a: bigB, c: bigA });

{
  const n = V * 2 * C;
  for (const threads of [1, 2]) {
    rt.activeThreads = Math.min(threads, rt.threads);
    const t = await timeit(() => rt.run(K.kernelDefinition('gelu'), { x: bigB }, { end: n, grain: 4096 }));
    record(`GELU ${V}x${2 * C} (${((t.median / n) * 1e9).toFixed(2)} ns/value)`, 'ours kernel', rt.activeThreads, t, 0);
  }
  for (const threads of [1, 2]) {
    rt.activeThreads = Math.min(threads, rt.threads);
    const t = await timeit(() => K.channelStatsInMemory(rt, bigA, V, C));
    record(`GroupNorm statistics ${V}x${C}`, 'ours kernel', rt.activeThreads, t, 0);
  }
}

// end-to-end through the array API (copies in and out), 2 threads, for the ops ORT also runs
rt.activeThreads = rt.threads;
const xHost = fill(new Float32Array(V * C), 7);
{
  const filter = fill(new Float32Array(27 * C), 2);
  const bias = fill(new Float32Array(C), 3);
  const t = await timeit(() => K.depthwiseConv3d(rt, { x: xHost, shape: [1, D, H, W, C], filter, k: 3, bias }));
  record(`depthwise k3 s1 ${D}x${H}x${W}x${C}`, 'ours e2e', rt.threads, t, (2 * 27 * C * V) / 1e9);
  const w = fill(new Float32Array(C * 4 * C), 4);
  const t2 = await timeit(() => K.matmulBias(rt, xHost, V, C, w, 4 * C, { bias: fill(new Float32Array(4 * C), 5) }));
  record(`pointwise ${V}x${C} -> ${4 * C}`, 'ours e2e', rt.threads, t2, (2 * V * C * 4 * C) / 1e9);
}

// fused MedNeXt blocks (depthwise k3 -> norm -> expand + GELU -> compress + input), through the array API
const blockCases = [
  { op: `MedNeXt block k3 ${D}x${H}x${W}x${C} exp 2 (stage 0)`, s: [D, H, W], c: C, e: 2 * C },
  {
    op: `MedNeXt block k3 ${D / 2}x${H / 2}x${W / 2}x${2 * C} exp 3 (stage 1)`,
    s: [D / 2, H / 2, W / 2],
    c: 2 * C,
    e: 6 * C,
  },
];
const blockWeights = (c, e) => ({
  k: 3,
  dwFilter: fill(new Float32Array(27 * c), 11).map((v) => v * 0.3),
  dwBias: fill(new Float32Array(c), 12),
  gamma: fill(new Float32Array(c), 13).map((v) => 1 + 0.2 * v),
  beta: fill(new Float32Array(c), 14).map((v) => 0.2 * v),
  w2: fill(new Float32Array(c * e), 15).map((v) => v / Math.sqrt(c)),
  b2: fill(new Float32Array(e), 16).map((v) => 0.1 * v),
  w3: fill(new Float32Array(e * c), 17).map((v) => v / Math.sqrt(e)),
  b3: fill(new Float32Array(c), 18).map((v) => 0.1 * v),
});
const blockFlop = (b) => (b.s.reduce((x, y) => x * y) * (2 * 27 * b.c + 4 * b.c * b.e)) / 1e9;
for (const b of blockCases) {
  const v = b.s.reduce((x, y) => x * y);
  const x = xHost.subarray(0, v * b.c);
  const wts = blockWeights(b.c, b.e);
  for (const threads of [1, 2]) {
    rt.activeThreads = Math.min(threads, rt.threads);
    const t = await timeit(() => K.invertedBottleneck(rt, x, b.s, wts, { kind: 'block', addInput: true }));
    record(b.op, 'ours e2e', rt.activeThreads, t, blockFlop(b));
  }
}
console.log(`kernel memory high-water mark: ${(rt.memory.buffer.byteLength / 2 ** 30).toFixed(2)} GiB`);
await rt.dispose();

// ---------------------------------------------------------------------------------------------- onnxruntime
let ort;
if (!args.has('--no-ort')) {
  try {
    ort = (await import('onnxruntime-node')).default;
  } catch (e) {
    console.log(`\nonnxruntime-node not available (${e.message.split('\n')[0]}): no reference in this run`);
  }
}
if (ort) {
  console.log(
    `\nonnxruntime-node ${ort.env.versions?.node ?? ''} cpu, graph optimisation 'all', intra-op spinning off:`,
  );
  const ortCase = async (op, spec, inputDims, gflop, threadsList = [1, 2]) => {
    const model = spec instanceof Uint8Array ? spec : oneNodeModel(spec);
    const size = inputDims.reduce((a, b) => a * b);
    const feeds = {
      x: new ort.Tensor(
        'float32',
        xHost.length >= size ? xHost.subarray(0, size) : fill(new Float32Array(size), 9),
        inputDims,
      ),
    };
    for (const threads of threadsList) {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      const t = await timeit(() => session.run(feeds), 2);
      record(op, 'onnxruntime', threads, t, gflop);
      await session.release();
    }
  };
  const w = (n, seed) => fill(new Float32Array(n), seed);
  const conv = (c, k, stride, group, extra = {}) => ({
    kernel_shape: [k, k, k],
    pads: Array(6).fill(k >> 1),
    strides: [stride, stride, stride],
    group,
    ...extra,
  });
  for (const k of [3, 5, 7]) {
    await ortCase(
      `depthwise k${k} s1 ${D}x${H}x${W}x${C}`,
      {
        op: 'Conv',
        attrs: conv(C, k, 1, C),
        x: [1, C, D, H, W],
        y: [1, C, D, H, W],
        inits: [
          { name: 'w', dims: [C, 1, k, k, k], data: w(C * k ** 3, 2) },
          { name: 'b', dims: [C], data: w(C, 3) },
        ],
      },
      [1, C, D, H, W],
      (2 * k ** 3 * C * V) / 1e9,
    );
  }
  await ortCase(
    `depthwise k3 s2 (down_0) ${D}x${H}x${W}x${C}`,
    {
      op: 'Conv',
      attrs: conv(C, 3, 2, C),
      x: [1, C, D, H, W],
      y: [1, C, D / 2, H / 2, W / 2],
      inits: [
        { name: 'w', dims: [C, 1, 3, 3, 3], data: w(C * 27, 2) },
        { name: 'b', dims: [C], data: w(C, 3) },
      ],
    },
    [1, C, D, H, W],
    (2 * 27 * C * (V / 8)) / 1e9,
  );
  await ortCase(
    `transposed k3 s2 (up_0) ${D / 2}x${H / 2}x${W / 2}x${2 * C}`,
    {
      op: 'ConvTranspose',
      attrs: conv(2 * C, 3, 2, 2 * C),
      x: [1, 2 * C, D / 2, H / 2, W / 2],
      y: [1, 2 * C, D - 1, H - 1, W - 1],
      inits: [
        { name: 'w', dims: [2 * C, 1, 3, 3, 3], data: w(2 * C * 27, 2) },
        { name: 'b', dims: [2 * C], data: w(2 * C, 3) },
      ],
    },
    [1, 2 * C, D / 2, H / 2, W / 2],
    (2 * 27 * 2 * C * (V / 8)) / 1e9,
  );
  await ortCase(
    `pointwise ${V}x${C} -> ${4 * C}`,
    {
      op: 'Conv',
      attrs: { kernel_shape: [1, 1, 1] },
      x: [1, C, D, H, W],
      y: [1, 4 * C, D, H, W],
      inits: [
        { name: 'w', dims: [4 * C, C, 1, 1, 1], data: w(4 * C * C, 4) },
        { name: 'b', dims: [4 * C], data: w(4 * C, 5) },
      ],
    },
    [1, C, D, H, W],
    (2 * V * C * 4 * C) / 1e9,
  );
  await ortCase(
    'GEMM peak 131072x256 -> 256',
    {
      op: 'MatMul',
      x: [131072, 256],
      y: [131072, 256],
      inits: [{ name: 'w', dims: [256, 256], data: w(256 * 256, 6) }],
    },
    [131072, 256],
    (2 * 131072 * 256 * 256) / 1e9,
  );
  for (const b of blockCases) {
    const wts = blockWeights(b.c, b.e);
    const dims = [1, b.c, ...b.s];
    // the official ONNX export's GroupNorm(C groups) is InstanceNormalization with the same affine
    const model = graphModel({
      nodes: [
        { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['h1'], attrs: conv(b.c, 3, 1, b.c) },
        {
          op: 'InstanceNormalization',
          inputs: ['h1', 'g', 'be'],
          outputs: ['h2'],
          attrs: { epsilon: { float: 1e-5 } },
        },
        { op: 'Conv', inputs: ['h2', 'w2', 'b2'], outputs: ['h3'], attrs: { kernel_shape: [1, 1, 1] } },
        { op: 'Gelu', domain: 'com.microsoft', inputs: ['h3'], outputs: ['h4'] },
        { op: 'Conv', inputs: ['h4', 'w3', 'b3'], outputs: ['h5'], attrs: { kernel_shape: [1, 1, 1] } },
        { op: 'Add', inputs: ['h5', 'x'], outputs: ['y'] },
      ],
      inits: [
        { name: 'w1', dims: [b.c, 1, 3, 3, 3], data: wts.dwFilter },
        { name: 'b1', dims: [b.c], data: wts.dwBias },
        { name: 'g', dims: [b.c], data: wts.gamma },
        { name: 'be', dims: [b.c], data: wts.beta },
        { name: 'w2', dims: [b.e, b.c, 1, 1, 1], data: wts.w2 },
        { name: 'b2', dims: [b.e], data: wts.b2 },
        { name: 'w3', dims: [b.c, b.e, 1, 1, 1], data: wts.w3 },
        { name: 'b3', dims: [b.c], data: wts.b3 },
      ],
      x: dims,
      y: dims,
    });
    await ortCase(b.op, model, dims, blockFlop(b));
  }
  await ortCase(
    `GELU ${V}x${2 * C}`,
    { op: 'Gelu', domain: 'com.microsoft', x: [V, 2 * C], y: [V, 2 * C] },
    [V, 2 * C],
    0,
  );
}

// ---------------------------------------------------------------------------------------------- summary
console.log(
  '\nsummary (best of 1 and 2 threads, by median; ratio = onnxruntime time / ours, > 1 means ours is faster):',
);
const ops = [...new Set(rows.map((r) => r.op.replace(/ \(\d+\.\d+ ns\/value\)/, '')))];
for (const op of ops) {
  const best = (impl) =>
    rows
      .filter((r) => r.op.replace(/ \(\d+\.\d+ ns\/value\)/, '') === op && r.impl === impl)
      .sort((a, b) => a.t.median - b.t.median)[0];
  const ours = best('ours kernel');
  const e2e = best('ours e2e');
  const ref = best('onnxruntime');
  const fmt = (r) => (r ? `${r.t.median.toFixed(3)} s (${r.threads}T)` : '-');
  const ratio = (r) => (r && ref ? (ref.t.median / r.t.median).toFixed(2) : '-');
  console.log(
    `${op.padEnd(44)} ours kernel ${fmt(ours).padEnd(16)} ours e2e ${fmt(e2e).padEnd(16)} ORT ${fmt(ref).padEnd(16)} ratio kernel ${ratio(ours)}  e2e ${ratio(e2e)}`,
  );
}
