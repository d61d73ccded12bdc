/**
 * Worker thread of {@link SamplePool}: receives `{ index, requests }`, answers `{ index, batch }`
 * (buffers transferred) or `{ index, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CaseStore } from './case-store.js';
import { produceBatch, type SampleRequest, type SamplerConfig } from './sample-pool.js';

const config = workerData as SamplerConfig;
const store = new CaseStore(config.cacheDir, config.casesInMemory);
// Batches are produced one at a time, in the order requested.
let chain: Promise<void> = Promise.resolve();

parentPort!.on('message', (m: { index: number; requests: SampleRequest[] }) => {
  chain = chain.then(async () => {
    try {
      const batch = await produceBatch(store, config, m.requests);
      parentPort!.postMessage({ index: m.index, batch }, [
        batch.x.buffer as ArrayBuffer,
        batch.y.buffer as ArrayBuffer,
      ]);
    } catch (error) {
      parentPort!.postMessage({ index: m.index, error: error instanceof Error ? error.message : String(error) });
    }
  });
});
