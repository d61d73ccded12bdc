/**
 * Main-thread side of the kernel-threads check: confirms that the runtime refuses threads on the main thread
 * (with its reason), then runs the real check in a dedicated worker (kernel-worker.ts).
 */
import { wasmKernels } from '@mednext-ts/tensor3d';
import type { KernelThreadsResult, KernelTiming } from './protocol.js';
import { callWorker } from './worker-call.js';

/** Runs the kernel-threads check. */
export async function kernelThreadsCheck(): Promise<KernelThreadsResult> {
  const onMain = await wasmKernels.createKernelRuntime({ threads: 2 });
  const mainThreadFallback = onMain.fallbackReason ?? null;
  await onMain.dispose();
  const worker = new Worker(new URL('./kernel-worker.ts', import.meta.url), { type: 'module' });
  return { mainThreadFallback, worker: await callWorker(worker, 'run', 'kernel threads check') };
}

/** Times the kernels at 1 and 2 threads in a dedicated worker (benchmark, not a test). */
export function kernelBench(side: number, repeats: number): Promise<{ relaxedSimd: boolean; timings: KernelTiming[] }> {
  const worker = new Worker(new URL('./kernel-worker.ts', import.meta.url), { type: 'module' });
  return callWorker(worker, { bench: { side, repeats } }, 'kernel benchmark');
}
