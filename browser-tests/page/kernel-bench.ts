/**
 * Timing of the WebAssembly kernels at 1 and 2 threads (run in a dedicated worker; see kernel-worker.ts).
 * Shared by the page's worker and the Node side of the benchmark, so both time exactly the same calls.
 */
import { wasmKernels } from '@mednext-ts/tensor3d';
import type { KernelTiming } from './protocol.js';
import { uniformArray } from './random.js';

type Runtime = wasmKernels.KernelRuntime;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function time(rt: Runtime, threads: number, repeats: number, run: () => void): number {
  rt.activeThreads = threads;
  run(); // warm-up: first-call costs (memory growth, tier-up) are not steady-state
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    run();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/**
 * Times a MedNeXt-B stage-0-like depthwise 3x3x3 conv (32 channels) and the block's expansion GEMM
 * (32 → 128 channels) on a `side`³ volume, at 1 and at `rt.threads` threads.
 */
export function benchKernels(rt: Runtime, side: number, repeats: number): KernelTiming[] {
  const c = 32;
  const voxels = side ** 3;
  const x = uniformArray(voxels * c, 3);
  const filter = uniformArray(27 * c, 4);
  const w = uniformArray(c * 4 * c, 5);
  const shape: wasmKernels.Shape5 = [1, side, side, side, c];
  const cases: Array<{ label: string; gflop: number; run: () => void }> = [
    {
      label: `depthwise k3 s1 [1,${side},${side},${side},${c}]`,
      gflop: (2 * 27 * voxels * c) / 1e9,
      run: () => void wasmKernels.depthwiseConv3d(rt, { x, shape, filter, k: 3 }),
    },
    {
      label: `GEMM M${voxels} K${c} N${4 * c}`,
      gflop: (2 * voxels * c * 4 * c) / 1e9,
      run: () => void wasmKernels.matmulBias(rt, x, voxels, c, w, 4 * c),
    },
  ];
  const threadCounts = rt.threads > 1 ? [1, rt.threads] : [1];
  return cases.map(({ label, gflop, run }) => ({
    label,
    gflop,
    msByThreads: Object.fromEntries(threadCounts.map((t) => [String(t), time(rt, t, repeats, run)])),
  }));
}
