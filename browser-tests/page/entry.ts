/**
 * Entry of the test page: exposes the checks on `window.mednextTests` for the Playwright-driven tests.
 */
import { webGpuMissing } from './backends.js';
import { depthwiseCheck } from './depthwise.js';
import { kernelBench, kernelThreadsCheck } from './kernel-threads.js';
import { mednextForward } from './mednext-main.js';
import { niftiCheck, niftiRejection } from './nifti.js';
import type { MednextTestPage, PageEnvironment } from './protocol.js';

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

const api: MednextTestPage = {
  environment,
  webGpuMissing,
  nifti: niftiCheck,
  niftiRejection,
  depthwise: depthwiseCheck,
  mednextForward,
  kernelThreads: kernelThreadsCheck,
  kernelBench,
};

(globalThis as unknown as { mednextTests: MednextTestPage }).mednextTests = api;
document.getElementById('status')!.textContent = 'ready';
