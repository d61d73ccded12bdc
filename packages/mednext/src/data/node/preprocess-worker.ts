/**
 * Worker thread of {@link preprocessDataset}: receives case descriptions, preprocesses them one at
 * a time and answers `{ ok, error? }` for each.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TaskDefinition } from '../../tasks/task.js';
import type { DiscoveredCase } from './discover.js';
import { preprocessOneCase } from './preprocess.js';

const { task, outDir } = workerData as { task: TaskDefinition; outDir: string };

parentPort!.on('message', (c: DiscoveredCase) => {
  preprocessOneCase(c, task, outDir).then(
    () => parentPort!.postMessage({ ok: true }),
    (error: unknown) =>
      parentPort!.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
