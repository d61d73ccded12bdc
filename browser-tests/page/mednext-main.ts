/** Main-thread entry of the MedNeXt check: runs the request here or in a dedicated worker. */
import { mednextForwardHere } from './mednext.js';
import type { MedNeXtRequest, MedNeXtResult } from './protocol.js';
import { callWorker } from './worker-call.js';

/** Runs `request` on the main thread, or in a dedicated worker when `request.inWorker`. */
export function mednextForward(request: MedNeXtRequest): Promise<MedNeXtResult> {
  if (!request.inWorker) return mednextForwardHere(request);
  const worker = new Worker(new URL('./mednext-worker.ts', import.meta.url), { type: 'module' });
  return callWorker(worker, request, 'MedNeXt forward');
}
