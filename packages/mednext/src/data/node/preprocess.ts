/**
 * `mednext preprocess` as a library: discover cases, preprocess each (in worker threads), write
 * the cache and `dataset.json`.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { removeStaleTemporaryFiles } from '@mednext-ts/io-nifti/node';
import { taskNaming } from '../../tasks/naming.js';
import { BUILT_IN } from '../../tasks/named-registry.js';
import { normalizations, resolveNormalization } from '../../tasks/normalization.js';
import { loadCaseFolder } from './case-files.js';
import type { TaskDefinition } from '../../tasks/task.js';
import { checkFiniteInput, type NonFiniteCount, type NonFinitePolicy } from '../non-finite.js';
import { CACHE_VERSION, preprocessCaseArrays, type CachedCaseMeta } from '../preprocess-case.js';
import {
  DATASET_FILE,
  isCaseCached,
  readCaseMeta,
  writeCachedCase,
  writeFileAtomic,
  type DatasetDescription,
} from './cache.js';
import { discoverCases, type DatasetRoot, type DiscoveredCase } from './discover.js';
import path from 'node:path';

/** The option of `mednext preprocess` and `predict` that sets non-finite voxels to 0. */
export const REPAIR_NON_FINITE_FLAG = '--repair-non-finite';

/**
 * Loads, preprocesses and writes one case; returns its metadata and the non-finite voxels repaired (only with
 * `nonFinite: 'zero'`; by default a case with any fails, see {@link checkFiniteInput}).
 */
export async function preprocessOneCase(
  c: DiscoveredCase,
  task: TaskDefinition,
  outDir: string,
  options: { nonFinite?: NonFinitePolicy } = {},
): Promise<{ meta: CachedCaseMeta; repaired: NonFiniteCount[] }> {
  const bc = await loadCaseFolder(c.dir, task.modalities, taskNaming(task), c.flat ? { id: c.id } : {});
  const repaired = checkFiniteInput(bc, { policy: options.nonFinite, repairHint: `pass ${REPAIR_NON_FINITE_FLAG}` });
  const arrays = preprocessCaseArrays(
    {
      id: c.id,
      source: c.source,
      modalities: bc.modalities,
      image: { data: bc.image.data, shape: bc.image.shape },
      labels: bc.label,
      affine: bc.reference.affine,
      spacing: bc.image.spacing,
      files: bc.files,
    },
    task,
  );
  await writeCachedCase(outDir, arrays);
  return { meta: arrays.meta, repaired };
}

/** Progress event of {@link preprocessDataset}, one per case. */
export interface PreprocessProgress {
  id: string;
  status: 'done' | 'skipped' | 'failed';
  error?: string;
  /** Non-finite voxels set to 0 in this case (with `nonFinite: 'zero'`), per modality. */
  repaired?: NonFiniteCount[];
  /** Cases finished so far (any status) and in total. */
  finished: number;
  total: number;
}

/** Options of {@link preprocessDataset}. */
export interface PreprocessOptions {
  roots: DatasetRoot[];
  outDir: string;
  task: TaskDefinition;
  /** Worker threads; 0 runs in this thread. Default: CPU count − 1, at most 8. */
  workers?: number;
  /** Redo cases that are already cached. */
  overwrite?: boolean;
  /** Non-finite input voxels: fail the case (default) or set them to 0 and report it. */
  nonFinite?: NonFinitePolicy;
  onProgress?: (event: PreprocessProgress) => void;
}

/** What {@link preprocessDataset} did. */
export interface PreprocessSummary {
  total: number;
  processed: string[];
  skipped: string[];
  failed: { id: string; error: string }[];
  /** Cases whose non-finite voxels were set to 0. */
  repaired: { id: string; counts: NonFiniteCount[] }[];
}

/** The compiled worker script; under a TypeScript test runner fall back to the built copy in dist/. */
function workerScript(): string {
  const here = fileURLToPath(new URL('./preprocess-worker.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = here.replace(`${path.sep}src${path.sep}`, `${path.sep}dist${path.sep}`);
  if (existsSync(built)) return built;
  throw new Error(`preprocess worker script not found at ${here} (build the package with tsc -b, or use workers: 0)`);
}

/** What the worker answers for each case. */
export interface WorkerAnswer {
  ok: boolean;
  error?: string;
  repaired?: NonFiniteCount[];
}

interface Job {
  c: DiscoveredCase;
}

/**
 * Preprocesses every case found under `roots` into `outDir`. Cases already cached are skipped
 * unless `overwrite`; a failing case is reported and the others continue. Writes `dataset.json`
 * listing every cached case of this run (processed and skipped).
 */
export async function preprocessDataset(options: PreprocessOptions): Promise<PreprocessSummary> {
  const { task, outDir } = options;
  await mkdir(outDir, { recursive: true });
  const cases = await discoverCases(options.roots, task.modalities, taskNaming(task));
  const summary: PreprocessSummary = { total: cases.length, processed: [], skipped: [], failed: [], repaired: [] };
  await removeStaleTemporaryFiles(outDir);
  let finished = 0;
  const report = (id: string, status: PreprocessProgress['status'], error?: string, repaired?: NonFiniteCount[]) => {
    finished++;
    if (status === 'done') summary.processed.push(id);
    else if (status === 'skipped') summary.skipped.push(id);
    else summary.failed.push({ id, error: error ?? 'unknown error' });
    if (repaired && repaired.length > 0) summary.repaired.push({ id, counts: repaired });
    options.onProgress?.({
      id,
      status,
      error,
      finished,
      total: cases.length,
      ...(repaired?.length ? { repaired } : {}),
    });
  };
  const methods = resolveNormalization(task);
  const todo: Job[] = [];
  for (const c of cases) {
    if (!options.overwrite && (await isCaseCached(outDir, c.id))) {
      const meta = await readCaseMeta(outDir, c.id);
      // A case normalised otherwise than the task now asks is redone, not mixed into the cache.
      const cachedMethods = meta.normalization.stats.map((s) => s.method ?? { method: 'zscore-nonzero' });
      if (
        meta.task === task.id &&
        meta.source === c.source &&
        JSON.stringify(cachedMethods) === JSON.stringify(methods)
      ) {
        report(c.id, 'skipped');
        continue;
      }
    }
    todo.push({ c });
  }
  // Worker threads know only the built-in normalisations (a plugin registers its own in this thread).
  const builtInOnly = methods.every((m) => normalizations.get(m.method).source === BUILT_IN);
  const workers = builtInOnly
    ? Math.min(todo.length, options.workers ?? Math.min(8, Math.max(1, os.cpus().length - 1)))
    : 0;
  if (workers <= 0) {
    for (const { c } of todo) {
      try {
        const { repaired } = await preprocessOneCase(c, task, outDir, { nonFinite: options.nonFinite });
        report(c.id, 'done', undefined, repaired);
      } catch (error) {
        report(c.id, 'failed', (error as Error).message);
      }
    }
  } else {
    const script = workerScript();
    let next = 0;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        const worker = new Worker(script, { workerData: { task, outDir, nonFinite: options.nonFinite } });
        try {
          while (next < todo.length) {
            const { c } = todo[next++]!;
            const result = await new Promise<WorkerAnswer>((resolve) => {
              const onMessage = (m: WorkerAnswer) => {
                worker.off('error', onError);
                resolve(m);
              };
              const onError = (e: Error) => {
                worker.off('message', onMessage);
                resolve({ ok: false, error: `worker crashed: ${e.message}` });
              };
              worker.once('message', onMessage);
              worker.once('error', onError);
              worker.postMessage(c);
            });
            report(c.id, result.ok ? 'done' : 'failed', result.error, result.repaired);
          }
        } finally {
          await worker.terminate();
        }
      }),
    );
  }
  const ok = new Set([...summary.processed, ...summary.skipped]);
  const description: DatasetDescription = {
    version: CACHE_VERSION,
    task: task.id,
    modalities: [...task.modalities],
    regions: task.regions.map((r) => r.name),
    normalization: resolveNormalization(task),
    cases: cases.filter((c) => ok.has(c.id)).map((c) => ({ id: c.id, source: c.source })),
  };
  await writeFileAtomic(path.join(outDir, DATASET_FILE), JSON.stringify(description, null, 1));
  return summary;
}
