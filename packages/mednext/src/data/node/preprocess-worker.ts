/**
 * Worker thread of {@link preprocessDataset}: receives case descriptions, preprocesses them one at
 * a time and answers a {@link WorkerAnswer} for each.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TaskDefinition } from '../../tasks/task.js';
import type { NonFinitePolicy } from '../non-finite.js';
import type { DiscoveredCase } from './discover.js';
import { preprocessOneCase, type WorkerAnswer } from './preprocess.js';

const { task, outDir, nonFinite } = workerData as { task: TaskDefinition; outDir: string; nonFinite?: NonFinitePolicy };

const answer = (m: WorkerAnswer) => parentPort!.postMessage(m);

parentPort!.on('message', (c: DiscoveredCase) => {
  preprocessOneCase(c, task, outDir, { nonFinite }).then(
    ({ repaired }) => answer({ ok: true, repaired }),
    (error: unknown) => answer({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
