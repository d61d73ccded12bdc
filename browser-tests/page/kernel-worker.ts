/**
 * Dedicated worker of the kernel-threads check. The WebAssembly kernels' thread pool blocks the calling
 * thread on `Atomics.wait`, which a page's main thread may not do, so the 2-thread runtime lives here; it
 * spawns its own nested worker (a Blob URL) that shares this runtime's WebAssembly memory.
 *
 * Every case runs on the 2-thread runtime and on a single-thread one and must agree EXACTLY (each output
 * element is computed by one thread with the same instructions), and with the float64 JS reference within
 * float32 rounding. Before each threaded call the free memory is filled with NaN, so an output range that
 * no thread wrote cannot pass. The same worker also serves the benchmark requests (kernel-bench.ts).
 */
import { wasmKernels } from '@mednext-ts/tensor3d';
import { maxAbsDiff, uniformArray } from './random.js';
import type { KernelThreadsResult, KernelTiming } from './protocol.js';
import { serveInWorker } from './worker-call.js';
import { benchKernels } from './kernel-bench.js';

type Runtime = wasmKernels.KernelRuntime;
type WorkerCase = KernelThreadsResult['worker']['cases'][number];

/** Index of thread t's [start, end) in the runtime's control block (Int32 words; see kernels/runtime.ts). */
const CTL_RANGES = 64;
const POISON_BYTES = 16 << 20;

/** Fills the next `POISON_BYTES` of free kernel memory with NaN (allocations reuse it right after). */
function poison(rt: Runtime): void {
  const mark = rt.mark();
  const addr = rt.alloc(POISON_BYTES);
  rt.f32(addr, POISON_BYTES / 4).fill(NaN);
  rt.release(mark);
}

/** Threads that got a non-empty range in the last dispatch, read from the control block. */
function rangesUsed(rt: Runtime): number {
  const ctl = new Int32Array(rt.memory.buffer, 0, 512);
  let used = 0;
  for (let t = 0; t < rt.threads; t++) if (ctl[CTL_RANGES + 2 * t]! < ctl[CTL_RANGES + 2 * t + 1]!) used++;
  return used;
}

function compare(
  label: string,
  threaded: Runtime,
  single: Runtime,
  run: (rt: Runtime) => Float32Array,
  reference: Float32Array,
): WorkerCase {
  poison(threaded);
  const a = run(threaded);
  const used = rangesUsed(threaded);
  const b = run(single);
  return { label, rangesUsed: used, threadedVsSingle: maxAbsDiff(a, b), vsReference: maxAbsDiff(a, reference) };
}

function depthwiseCase(
  threaded: Runtime,
  single: Runtime,
  shape: wasmKernels.Shape5,
  k: number,
  stride: 1 | 2,
  transposed: boolean,
  seed: number,
): WorkerCase {
  const x = uniformArray(
    shape.reduce((a, b) => a * b, 1),
    seed,
  );
  const filter = uniformArray(k * k * k * shape[4], seed + 1);
  const bias = uniformArray(shape[4], seed + 2);
  const pad = k >> 1;
  const args = { x, shape, filter, k, bias, pad };
  const outSpatial = shape
    .slice(1, 4)
    .map((n) =>
      transposed ? wasmKernels.convTransposeOutSize(n, k, pad) : wasmKernels.convOutSize(n, k, stride, pad),
    );
  const reference = wasmKernels.depthwiseReference(x, shape, filter, k, {
    stride: transposed ? 2 : stride,
    pad,
    transposed,
    bias,
    outSpatial,
  }).data;
  const label = `depthwise${transposed ? ' transposed' : ''} k${k} s${transposed ? 2 : stride} [${shape}]`;
  return compare(
    label,
    threaded,
    single,
    (rt) =>
      transposed
        ? wasmKernels.depthwiseConvTranspose3d(rt, args).data
        : wasmKernels.depthwiseConv3d(rt, { ...args, stride }).data,
    reference,
  );
}

function gemmCase(threaded: Runtime, single: Runtime, m: number, k: number, n: number, seed: number): WorkerCase {
  const x = uniformArray(m * k, seed);
  const w = uniformArray(k * n, seed + 1);
  const bias = uniformArray(n, seed + 2);
  const reference = wasmKernels.matmulReference(x, m, k, w, n, bias);
  return compare(
    `gemm + bias M${m} K${k} N${n}`,
    threaded,
    single,
    (rt) => wasmKernels.matmulBias(rt, x, m, k, w, n, { bias }),
    reference,
  );
}

/** Benchmark request (see kernel-bench.ts): times the kernels on a 2-thread runtime. */
async function bench(side: number, repeats: number): Promise<{ relaxedSimd: boolean; timings: KernelTiming[] }> {
  const rt = await wasmKernels.createKernelRuntime({ threads: 2 });
  try {
    if (rt.fallbackReason) throw new Error(`no kernel threads in the worker: ${rt.fallbackReason}`);
    return { relaxedSimd: rt.relaxedSimd, timings: benchKernels(rt, side, repeats) };
  } finally {
    await rt.dispose();
  }
}

async function run(): Promise<KernelThreadsResult['worker']> {
  const threaded = await wasmKernels.createKernelRuntime({ threads: 2 });
  const single = wasmKernels.createKernelRuntimeSync({ relaxedSimd: threaded.relaxedSimd });
  try {
    const cases = [
      depthwiseCase(threaded, single, [1, 9, 7, 10, 8], 3, 1, false, 11),
      depthwiseCase(threaded, single, [1, 11, 8, 9, 6], 5, 2, false, 21),
      depthwiseCase(threaded, single, [1, 5, 6, 4, 8], 3, 2, true, 31),
      gemmCase(threaded, single, 517, 32, 24, 41),
    ];
    return {
      crossOriginIsolated: self.crossOriginIsolated,
      threads: threaded.threads,
      fallbackReason: threaded.fallbackReason ?? null,
      relaxedSimd: threaded.relaxedSimd,
      cases,
    };
  } finally {
    await threaded.dispose();
  }
}

serveInWorker((request: 'run' | { bench: { side: number; repeats: number } }): Promise<unknown> =>
  request === 'run' ? run() : bench(request.bench.side, request.bench.repeats),
);
