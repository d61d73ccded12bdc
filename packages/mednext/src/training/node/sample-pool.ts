/**
 * Producing training batches, optionally in worker threads so that patch extraction and
 * augmentation (CPU work) overlap with the network step.
 *
 * Determinism does not depend on the number of workers: the training loop draws, from its own
 * seeded generator, which case each sample comes from, whether it is centred on foreground and a
 * 32-bit seed for that sample's own generator; the sample is then a pure function of those.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Random, type Shape3 } from '@mednext-ts/tensor3d';
import type { AugmentationConfig } from '../../data/augmentation.js';
import { samplePatch, toChannelsLast } from '../../data/sampling.js';
import type { RegionDefinition } from '../../tasks/task.js';
import { CaseStore } from './case-store.js';

/** One sample to produce. */
export interface SampleRequest {
  id: string;
  forceForeground: boolean;
  seed: number;
}

/** Settings every producer needs. */
export interface SamplerConfig {
  cacheDir: string;
  patchSize: Shape3;
  regions: RegionDefinition[];
  augmentation: AugmentationConfig;
  casesInMemory: number;
}

/** A batch in channels-last layout: `x` `[B, px, py, pz, C]`, `y` `[B, px, py, pz, R]`. */
export interface Batch {
  x: Float32Array;
  y: Float32Array;
}

/** Builds a batch from its requests (in this thread). */
export async function produceBatch(
  store: CaseStore,
  config: SamplerConfig,
  requests: readonly SampleRequest[],
): Promise<Batch> {
  const voxels = config.patchSize[0] * config.patchSize[1] * config.patchSize[2];
  let x: Float32Array | undefined;
  const y = new Float32Array(requests.length * voxels * config.regions.length);
  for (const [b, r] of requests.entries()) {
    const stored = await store.get(r.id);
    const s = samplePatch(stored.case, stored.fg, new Random(r.seed), {
      patchSize: config.patchSize,
      regions: config.regions,
      forceForeground: r.forceForeground,
      augmentation: config.augmentation,
    });
    const channels = s.image.shape[0];
    x ??= new Float32Array(requests.length * voxels * channels);
    toChannelsLast(s.image, x, b * voxels * channels);
    const t = toChannelsLast(s.target);
    for (let i = 0; i < t.length; i++) y[b * t.length + i] = t[i]!;
  }
  return { x: x ?? new Float32Array(0), y };
}

function workerScript(): string {
  const here = fileURLToPath(new URL('./sample-worker.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = here.replace(`${path.sep}src${path.sep}`, `${path.sep}dist${path.sep}`);
  if (existsSync(built)) return built;
  throw new Error(`sampling worker script not found at ${here} (build the package with tsc -b, or use 0 workers)`);
}

/**
 * Produces batches in order, `workers` at a time ahead of the consumer (0 workers: in this
 * thread, on demand). Call {@link SamplePool.close} when done.
 */
export class SamplePool {
  private readonly workers: Worker[] = [];
  private readonly store: CaseStore;
  private readonly pending: Promise<Batch>[] = [];
  private queue: SampleRequest[][] = [];
  private next = 0;

  constructor(
    private readonly config: SamplerConfig,
    workers: number,
  ) {
    this.store = new CaseStore(config.cacheDir, config.casesInMemory);
    if (workers > 0) {
      const script = workerScript();
      for (let i = 0; i < workers; i++) this.workers.push(new Worker(script, { workerData: config }));
    }
  }

  /** Replaces the queue of batches to produce (e.g. one epoch's worth). */
  setQueue(batches: SampleRequest[][]): void {
    this.queue = batches;
    this.next = 0;
    this.pending.length = 0;
  }

  private start(): void {
    while (this.next < this.queue.length && this.pending.length < Math.max(1, this.workers.length)) {
      const index = this.next++;
      const requests = this.queue[index]!;
      if (this.workers.length === 0) {
        this.pending.push(produceBatch(this.store, this.config, requests));
        continue;
      }
      const worker = this.workers[index % this.workers.length]!;
      this.pending.push(
        new Promise<Batch>((resolve, reject) => {
          const onMessage = (m: { index: number; batch?: Batch; error?: string }) => {
            if (m.index !== index) return;
            worker.off('message', onMessage);
            worker.off('error', onError);
            if (m.batch) resolve(m.batch);
            else reject(new Error(`sampling worker: ${m.error}`));
          };
          const onError = (e: Error) => {
            worker.off('message', onMessage);
            reject(new Error(`sampling worker crashed: ${e.message}`, { cause: e }));
          };
          worker.on('message', onMessage);
          worker.once('error', onError);
          worker.postMessage({ index, requests });
        }),
      );
    }
  }

  /** The next batch of the queue. */
  async take(): Promise<Batch> {
    this.start();
    const batch = this.pending.shift();
    if (!batch) throw new Error('SamplePool.take: the queue is empty');
    const result = await batch;
    this.start();
    return result;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
