/**
 * Entry of the test page: exposes the checks on `window.mednextTests` for the Playwright-driven tests.
 */
import { webGpuMissing } from './backends.js';
import { depthwiseCheck } from './depthwise.js';
import { kernelBench, kernelThreadsCheck } from './kernel-threads.js';
import { mednextForward } from './mednext-main.js';
import { niftiCheck, niftiRejection } from './nifti.js';
import { webGpuEngineForward } from './webgpu-engine.js';
import { callWorker } from './worker-call.js';
import type { MednextTestPage, NetworkBenchRequest, NetworkTiming, PageEnvironment } from './protocol.js';

function environment(): PageEnvironment {
  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
    processType: typeof (globalThis as { process?: unknown }).process,
    decompressionStream: typeof DecompressionStream === 'function',
    hardwareConcurrency: navigator.hardwareConcurrency,
  };
}

/** Runs the MedNeXt forward benchmark in a fresh dedicated worker (the kernel pool needs a worker). */
function networkBench(request: NetworkBenchRequest): Promise<NetworkTiming> {
  const worker = new Worker(new URL('./network-bench-worker.ts', import.meta.url), { type: 'module' });
  return callWorker(worker, request, 'MedNeXt forward benchmark');
}

const api: MednextTestPage = {
  environment,
  webGpuMissing,
  nifti: niftiCheck,
  niftiRejection,
  depthwise: depthwiseCheck,
  mednextForward,
  webGpuEngineForward,
  kernelThreads: kernelThreadsCheck,
  kernelBench,
  networkBench,
};

(globalThis as unknown as { mednextTests: MednextTestPage }).mednextTests = api;
document.getElementById('status')!.textContent = 'ready';
