/**
 * The epoch loop of `trainFold` (`trainEpoch`) with an engine that takes several steps at once (the GPU trainer
 * queues a step behind the running one): the next batch is submitted before the previous step reports, reports
 * come in order, an abort drains the steps under way, and a failed step's error is the one reported. The engine
 * here is a recording test double; the real engines run in training.test.ts and training-webgpu.test.ts.
 */
import { Random } from '@mednext-ts/tensor3d';
import { describe, expect, it } from 'vitest';
import { MedNeXtError } from '../src/errors.js';
import type { EngineStepReport, TrainingEngine } from '../src/training/node/engines/types.js';
import type { SamplePool } from '../src/training/node/sample-pool.js';
import type { FoldRun } from '../src/training/node/stages/prepare.js';
import { trainEpoch } from '../src/training/node/stages/train-step.js';

/** An engine that records its calls; step `i` reports loss `i` (or fails at `failAt`) a macrotask later. */
function recordingEngine(stepsInFlight: number, events: string[], failAt?: number): TrainingEngine {
  return {
    name: 'webgpu',
    stepsInFlight,
    learningRate: 0.01,
    startEpoch: () => undefined,
    train: () => events.push('train'),
    eval: () => events.push('eval'),
    step: (_batch, where) => {
      events.push(`submit ${where.iteration}`);
      return new Promise<EngineStepReport>((resolve, reject) =>
        setTimeout(() => {
          if (where.iteration === failAt)
            reject(new MedNeXtError('TRAINING_DIVERGED', `epoch 0 iteration ${where.iteration}: the loss is NaN`));
          else resolve({ loss: where.iteration, gpuIdleMs: 10 * where.iteration, peakBytes: 100 + where.iteration });
        }, 1),
      );
    },
  } as TrainingEngine;
}

/** A pool whose batches are empty (the engine double ignores them). */
const pool = {
  setQueue: () => undefined,
  take: async () => ({ x: new Float32Array(0), y: new Float32Array(0) }),
} as unknown as SamplePool;

function runOf(engine: TrainingEngine, events: string[], iterations: number, signal?: AbortSignal): FoldRun {
  return {
    options: {
      epochs: 1,
      iterationsPerEpoch: iterations,
      batchSize: 1,
      signal,
      onIteration: (e: { iteration: number; loss: number }) => events.push(`report ${e.iteration} loss ${e.loss}`),
    },
    engine,
    trainIds: ['a'],
    foregroundFraction: 0.5,
  } as unknown as FoldRun;
}

describe('trainEpoch with steps in flight', () => {
  it('submits the next step before the previous one reports; reports in order; GPU figures per epoch', async () => {
    const events: string[] = [];
    const result = await trainEpoch(runOf(recordingEngine(2, events), events, 4), new Random(1), pool, 0);
    expect(events).toEqual([
      'train',
      'submit 0',
      'submit 1',
      'report 1 loss 0',
      'submit 2',
      'report 2 loss 1',
      'submit 3',
      'report 3 loss 2',
      'report 4 loss 3',
    ]);
    expect(result).toEqual({ lossSum: 6, gpu: { gpuIdleMsMean: 15, gpuIdleMsMax: 30, gpuPeakBytes: 103 } });
  });

  it('one step at a time when the engine takes one (tfjs)', async () => {
    const events: string[] = [];
    await trainEpoch(runOf(recordingEngine(1, events), events, 2), new Random(1), pool, 0);
    expect(events).toEqual(['train', 'submit 0', 'report 1 loss 0', 'submit 1', 'report 2 loss 1']);
  });

  it('an abort stops submitting and drains the steps under way', async () => {
    const events: string[] = [];
    const controller = new AbortController();
    const run = runOf(recordingEngine(2, events), events, 5, controller.signal);
    const report = run.options.onIteration!;
    run.options.onIteration = (e) => {
      report(e);
      if (e.iteration === 1) controller.abort();
    };
    expect(await trainEpoch(run, new Random(1), pool, 0)).toBeNull();
    expect(events).toEqual(['train', 'submit 0', 'submit 1', 'report 1 loss 0', 'report 2 loss 1']);
  });

  it("a failed step's error is reported; the step queued behind it fails quietly", async () => {
    const events: string[] = [];
    // Step 2 is queued behind the failing step 1 and fails too (as the GPU trainer's queued steps do).
    const engine = recordingEngine(2, events, 1);
    const step = engine.step.bind(engine);
    engine.step = (batch, where) =>
      where.iteration === 2
        ? step(batch, where).then(() => Promise.reject(new Error('queued behind a diverged step')))
        : step(batch, where);
    const error = await trainEpoch(runOf(engine, events, 4), new Random(1), pool, 0).catch((e) => e);
    expect((error as MedNeXtError).code).toBe('TRAINING_DIVERGED');
    expect((error as Error).message).toBe('epoch 0 iteration 1: the loss is NaN');
    expect(events).toEqual(['train', 'submit 0', 'submit 1', 'report 1 loss 0', 'submit 2']);
    // Let the queued step's rejection happen: vitest fails the file on an unhandled one.
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
});
