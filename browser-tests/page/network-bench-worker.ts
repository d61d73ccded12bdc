/** Dedicated worker of the MedNeXt forward benchmark (network-bench.ts): tfjs-wasm, then the timing. */
import { useBackend } from './backends.js';
import { benchNetwork } from './network-bench.js';
import type { NetworkBenchRequest } from './protocol.js';
import { serveInWorker } from './worker-call.js';

serveInWorker(async (request: NetworkBenchRequest) => {
  await useBackend('wasm');
  return benchNetwork(request);
});
