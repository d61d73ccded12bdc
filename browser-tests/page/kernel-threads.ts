/**
 * Main-thread side of the kernel-threads check: confirms that the runtime refuses threads on the main thread
 * (with its reason), then runs the real check in a dedicated worker (kernel-worker.ts).
 */
import { wasmKernels } from '@mednext-ts/tensor3d';
import type { KernelThreadsResult } from './protocol.js';

type WorkerReply = { ok: true; result: KernelThreadsResult['worker'] } | { ok: false; error: string };

function runInWorker(): Promise<KernelThreadsResult['worker']> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./kernel-worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      worker.terminate();
      if (event.data.ok) resolve(event.data.result);
      else reject(new Error(`kernel worker failed: ${event.data.error}`));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`kernel worker error: ${event.message}`));
    };
    worker.postMessage('run');
  });
}

/** Runs the kernel-threads check. */
export async function kernelThreadsCheck(): Promise<KernelThreadsResult> {
  const onMain = await wasmKernels.createKernelRuntime({ threads: 2 });
  const mainThreadFallback = onMain.fallbackReason ?? null;
  await onMain.dispose();
  return { mainThreadFallback, worker: await runInWorker() };
}
