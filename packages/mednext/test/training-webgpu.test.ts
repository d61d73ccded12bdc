/**
 * `trainFold` with `engine: 'webgpu'`: the fold pipeline (sampling, validation, checkpoints, resume, fine-tuning,
 * UpKern) on the GPU trainer, against the tfjs engine on the cpu backend. Runs on Dawn/llvmpipe here, on the tiny
 * SSA model (width 4, one block per stage, deep supervision) and 16³ patches. WebGPU is expected: without an
 * adapter these tests FAIL with the reason, unless the environment declares `MEDNEXT_SKIP_WEBGPU=1`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { acquireGpuDevice } from '@mednext-ts/tensor3d/webgpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTrainingEngine,
  lossByName,
  registerLoss,
  trainFold,
  type TrainOptions,
  type TrainResult,
} from '../src/training/node/index.js';
import { decodeResume } from '../src/training/index.js';
import { MedNeXt } from '../src/model/index.js';
import { parseSafetensors } from '../src/weights/index.js';
import { MedNeXtError } from '../src/errors.js';
import { regionDiceBceLoss } from '../src/losses/region-losses.js';
import { useSyntheticTrainingRun } from './helpers/training-run.js';

const SKIP = !!process.env.MEDNEXT_SKIP_WEBGPU;
const fixture = useSyntheticTrainingRun({ backend: 'cpu', cases: 4, prefix: 'mednext-train-webgpu-' });

/**
 * Loss tolerance of the engine comparison: the first step sees the same weights and batch, so the losses differ
 * only by the order of float32 sums (forward fixtures: 1e-4 absolute + relative on logits, and the loss averages
 * them); later steps add the difference of one Schedule-Free update per step at lr 0.01.
 */
const FIRST_STEP_TOLERANCE = 1e-5;
const LATER_STEP_TOLERANCE = 1e-4;

let device: GPUDevice | undefined;
beforeAll(async () => {
  if (!SKIP) device = (await acquireGpuDevice()).device;
});
afterAll(() => device?.destroy());

/** The short run both engines make: seed 7, batch 2, deep supervision, `iterations` steps per epoch. */
const shortRun = (out: string, over: Partial<TrainOptions> = {}): TrainOptions =>
  fixture.options(out, { batchSize: 2, epochs: 1, iterationsPerEpoch: 3, seed: 7, ...over });

/** Trains and records every step's loss (and the GPU figures, when there are some). */
async function trainRecording(options: TrainOptions) {
  const steps: { loss: number; gpuIdleMs?: number; peakBytes?: number }[] = [];
  const messages: string[] = [];
  const result = await trainFold({
    ...options,
    onIteration: (e) => steps.push({ loss: e.loss, gpuIdleMs: e.gpuIdleMs, peakBytes: e.peakBytes }),
    onMessage: (m) => messages.push(m),
  });
  return { result, steps, messages };
}

const onGpu = (over: Partial<TrainOptions> = {}): Partial<TrainOptions> => ({ engine: 'webgpu', device, ...over });

/**
 * Largest |a − b| over the parameters, leaving out the blocks' `conv1.bias`: it feeds a GroupNorm, so its gradient
 * is zero up to float noise, and Adam's normalised update turns that noise into steps of about ±lr on either
 * engine (the same reason the gradient fixtures check it in absolute terms).
 */
function maxWeightDifference(
  a: ReadonlyMap<string, { data: Float32Array }>,
  b: ReadonlyMap<string, { data: Float32Array }>,
): number {
  let max = 0;
  for (const [name, t] of a) {
    if (name.endsWith('conv1.bias')) continue;
    const u = b.get(name)!.data;
    for (let i = 0; i < t.data.length; i++) max = Math.max(max, Math.abs(u[i]! - t.data[i]!));
  }
  return max;
}

/** A log line without its timings (seconds, wall-clock time, GPU idle time). */
function stripTimings(log: TrainResult['log']) {
  return log.map(({ time: _t, seconds: _s, gpuIdleMsMean: _m, gpuIdleMsMax: _x, ...rest }) => rest);
}

describe('trainFold settings of the webgpu engine', () => {
  it('refuses AdamW with a schedule before writing anything, naming the flag', async () => {
    const out = path.join(fixture.dir, 'adamw-webgpu');
    const error = await trainFold(shortRun(out, { engine: 'webgpu', optimizer: 'adamw-poly' })).catch((e) => e);
    expect(error).toBeInstanceOf(MedNeXtError);
    expect((error as MedNeXtError).code).toBe('TRAINING_SETTING');
    expect((error as Error).message).toMatch(/--optimizer adamw-poly: the webgpu engine trains with Schedule-Free/);
    expect(existsSync(out)).toBe(false);
  });
});

describe.skipIf(SKIP)('trainFold on the WebGPU engine', () => {
  it(
    'the phantom loss curve matches the tfjs engine step by step; GPU idle time and peak memory are logged',
    { timeout: 600_000 },
    async () => {
      const cpu = await trainRecording(shortRun(path.join(fixture.dir, 'curve-tfjs')));
      const gpu = await trainRecording(shortRun(path.join(fixture.dir, 'curve-webgpu'), onGpu()));
      console.log(
        'losses tfjs',
        cpu.steps.map((s) => s.loss),
        'webgpu',
        gpu.steps.map((s) => s.loss),
      );
      expect(gpu.steps).toHaveLength(3);
      const diffs = gpu.steps.map((s, i) => Math.abs(s.loss - cpu.steps[i]!.loss));
      expect(diffs[0]!, `step 1 |Δloss| ${diffs[0]}`).toBeLessThanOrEqual(FIRST_STEP_TOLERANCE);
      for (const [i, d] of diffs.entries())
        expect(d, `step ${i + 1} |Δloss| ${d}`).toBeLessThanOrEqual(LATER_STEP_TOLERANCE);
      // The loss moves (a curve of constant losses would match trivially).
      expect(Math.abs(cpu.steps[2]!.loss - cpu.steps[0]!.loss)).toBeGreaterThan(10 * LATER_STEP_TOLERANCE);
      const [ce, ge] = [cpu.result.log[0]!, gpu.result.log[0]!];
      expect(Math.abs(ge.valLoss! - ce.valLoss!)).toBeLessThanOrEqual(LATER_STEP_TOLERANCE);
      // GPU figures: per step, and their epoch mean / max in the log; none on the tfjs engine.
      for (const s of gpu.steps) {
        expect(s.gpuIdleMs).toBeGreaterThanOrEqual(0);
        expect(s.peakBytes).toBeGreaterThan(0);
      }
      const idle = gpu.steps.map((s) => s.gpuIdleMs!);
      expect(ge.gpuIdleMsMean).toBeCloseTo(idle.reduce((a, b) => a + b, 0) / idle.length, 9);
      expect(ge.gpuIdleMsMax).toBe(Math.max(...idle));
      expect(ge.gpuPeakBytes).toBe(Math.max(...gpu.steps.map((s) => s.peakBytes!)));
      expect(ce.gpuIdleMsMean).toBeUndefined();
      expect(cpu.steps[0]!.gpuIdleMs).toBeUndefined();
      const line = JSON.parse(
        (await readFile(path.join(fixture.dir, 'curve-webgpu', 'fold_0', 'log.jsonl'), 'utf8')).trim(),
      );
      expect(line.gpuPeakBytes).toBe(ge.gpuPeakBytes);
      const config = JSON.parse(
        await readFile(path.join(fixture.dir, 'curve-webgpu', 'fold_0', 'train-config.json'), 'utf8'),
      );
      expect(config).toMatchObject({ engine: 'webgpu', activationStorage: 'f32', optimizer: 'schedulefree' });
      // The checkpoints are the tfjs engine's files: same tensors, values within the tolerance of the run.
      const [a, b] = await Promise.all(
        ['curve-tfjs', 'curve-webgpu'].map(async (d) =>
          parseSafetensors(await readFile(path.join(fixture.dir, d, 'fold_0', 'checkpoint_last.safetensors'))),
        ),
      );
      expect([...b.tensors.keys()]).toEqual([...a.tensors.keys()]);
      expect(b.metadata).toEqual(a.metadata);
      for (const [name, t] of a.tensors) expect(b.tensors.get(name)!.shape, name).toEqual(t.shape);
      const maxDiff = maxWeightDifference(a.tensors, b.tensors);
      console.log('checkpoint max |Δw| tfjs vs webgpu after 3 steps (without the conv1 biases)', maxDiff);
      expect(maxDiff).toBeLessThanOrEqual(LATER_STEP_TOLERANCE);
    },
  );

  it(
    'resume is bit-identical: 2 epochs straight (worker sampling) = 1 epoch, stop, resume 1',
    { timeout: 600_000 },
    async () => {
      const opts = onGpu({ epochs: 2, iterationsPerEpoch: 1 });
      const a = path.join(fixture.dir, 'gpu-straight');
      // The uninterrupted run samples in a worker thread that prepares the next batch while the GPU works; the
      // interrupted one in the training thread: the batches, hence the files, are the same.
      // Its epoch boundary also lasts 1.5 s longer (a slow onEpoch): the GPU idle time of the next step does not
      // count it (it is the wait for batches and encoding, not validation and checkpoints).
      const busyWait = (ms: number) => {
        for (const end = performance.now() + ms; performance.now() < end;);
      };
      const straight = await trainFold(shortRun(a, { ...opts, samplingWorkers: 1, onEpoch: () => busyWait(1500) }));
      expect(straight.log[1]!.gpuIdleMsMax!).toBeLessThan(1500);
      const b = path.join(fixture.dir, 'gpu-resumed');
      const controller = new AbortController();
      const first = await trainFold(
        shortRun(b, { ...opts, signal: controller.signal, onEpoch: (e) => e.epoch === 0 && controller.abort() }),
      );
      expect(first.epochsDone).toBe(1);
      const messages: string[] = [];
      const second = await trainFold(shortRun(b, { ...opts, resume: true, onMessage: (m) => messages.push(m) }));
      expect(messages.some((m) => /resuming .* after epoch 0/.test(m))).toBe(true);
      expect(second.status).toBe('completed');
      for (const f of [
        'checkpoint_last.safetensors',
        'checkpoint_best.safetensors',
        'checkpoint_last.resume.safetensors',
      ]) {
        const [x, y] = await Promise.all([readFile(path.join(a, 'fold_0', f)), readFile(path.join(b, 'fold_0', f))]);
        expect(Buffer.compare(x, y), f).toBe(0);
      }
      expect(stripTimings(second.log)).toEqual(stripTimings(straight.log));
      expect(second.log[1]!.trainLoss).not.toBe(second.log[0]!.trainLoss);
    },
  );

  it('resume files are interchangeable: a tfjs epoch continued on the GPU', { timeout: 600_000 }, async () => {
    const opts = { epochs: 2, iterationsPerEpoch: 1 };
    const a = path.join(fixture.dir, 'tfjs-straight');
    const straight = await trainFold(shortRun(a, opts));
    const b = path.join(fixture.dir, 'tfjs-then-gpu');
    const controller = new AbortController();
    await trainFold(
      shortRun(b, { ...opts, signal: controller.signal, onEpoch: (e) => e.epoch === 0 && controller.abort() }),
    );
    const resumed = await trainFold(shortRun(b, onGpu({ ...opts, resume: true })));
    expect(resumed.epochsDone).toBe(2);
    const [ra, rb] = await Promise.all(
      [a, b].map(async (d) =>
        decodeResume(await readFile(path.join(d, 'fold_0', 'checkpoint_last.resume.safetensors')), d),
      ),
    );
    expect(rb.state).toEqual(ra.state);
    expect([...rb.optimizer.tensors.keys()]).toEqual([...ra.optimizer.tensors.keys()]);
    expect(rb.optimizer.words).toEqual(ra.optimizer.words);
    const maxDiff = maxWeightDifference(ra.weights, rb.weights);
    console.log('weights max |Δ| tfjs straight vs tfjs + webgpu resume (without the conv1 biases)', maxDiff);
    expect(maxDiff).toBeLessThanOrEqual(LATER_STEP_TOLERANCE);
    expect(Math.abs(resumed.log[1]!.trainLoss - straight.log[1]!.trainLoss)).toBeLessThanOrEqual(LATER_STEP_TOLERANCE);
  });

  it(
    'fine-tuning the last decoder layers with re-init leaves every frozen parameter bit-identical',
    { timeout: 600_000 },
    async () => {
      const base = path.join(fixture.dir, 'ft-base');
      await trainFold(shortRun(base, { iterationsPerEpoch: 1, batchSize: 1 }));
      const source = path.join(base, 'fold_0', 'checkpoint_last.safetensors');
      const start = parseSafetensors(await readFile(source)).tensors;
      const ft = path.join(fixture.dir, 'ft-webgpu');
      const { result, messages } = await trainRecording(
        shortRun(
          ft,
          onGpu({ iterationsPerEpoch: 2, init: { kind: 'checkpoint', path: source, trainLast: 2, reinit: true } }),
        ),
      );
      expect(result.status).toBe('completed');
      expect(messages[0]).toMatch(/fine-tuning 26 tensors \(last 2 decoder layers \+ heads, re-initialised\)/);
      const after = parseSafetensors(await readFile(path.join(ft, 'fold_0', 'checkpoint_last.safetensors'))).tensors;
      const trained = /^(up_0|dec_block_0\.0|out_[0-4])\./;
      let frozen = 0;
      let changed = 0;
      for (const [name, t] of start) {
        const now = after.get(name)!;
        const same =
          Buffer.compare(
            Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
            Buffer.from(now.data.buffer, now.data.byteOffset, now.data.byteLength),
          ) === 0;
        if (!trained.test(name)) {
          expect(same, `${name} is frozen`).toBe(true);
          frozen++;
        } else if (!same) changed++;
      }
      expect(frozen).toBeGreaterThan(50);
      expect(changed).toBeGreaterThanOrEqual(5);
      // Only the trained tensors have optimizer state.
      const resume = decodeResume(await readFile(path.join(ft, 'fold_0', 'checkpoint_last.resume.safetensors')), 'ft');
      const withState = new Set([...resume.optimizer.tensors.keys()].map((k) => k.slice(0, k.lastIndexOf('/'))));
      expect([...withState].every((name) => trained.test(name))).toBe(true);
      expect(withState.size).toBe(26);
    },
  );

  it(
    'UpKern initialises a k5 run from a k3 checkpoint; its first step matches the tfjs engine',
    { timeout: 600_000 },
    async () => {
      const base = path.join(fixture.dir, 'upkern-base');
      await trainFold(shortRun(base, { iterationsPerEpoch: 1, batchSize: 1 }));
      const source = path.join(base, 'fold_0', 'checkpoint_last.safetensors');
      const k5 = (out: string, over: Partial<TrainOptions>) =>
        shortRun(out, {
          iterationsPerEpoch: 1,
          model: { ...fixture.options(out).model, kernel_size: 5 },
          init: { kind: 'upkern', path: source },
          ...over,
        });
      const cpu = await trainRecording(k5(path.join(fixture.dir, 'upkern-tfjs'), {}));
      const gpu = await trainRecording(k5(path.join(fixture.dir, 'upkern-webgpu'), onGpu()));
      expect(gpu.messages[0]).toMatch(/^UpKern from .*: \d+ kernels resampled/);
      expect(gpu.messages[0]).toBe(cpu.messages[0]);
      expect(Math.abs(gpu.steps[0]!.loss - cpu.steps[0]!.loss)).toBeLessThanOrEqual(FIRST_STEP_TOLERANCE);
      const after = parseSafetensors(
        await readFile(path.join(fixture.dir, 'upkern-webgpu', 'fold_0', 'checkpoint_last.safetensors')),
      ).tensors;
      expect(after.get('enc_block_0.0.conv1.weight')!.shape).toEqual([4, 1, 5, 5, 5]);
    },
  );

  it(
    'a plugin loss trains through the host-loss path: the same first step as tfjs and as the GPU kernel',
    { timeout: 600_000 },
    async () => {
      // The built-in Dice + BCE under a plugin's name: the GPU trainer cannot know it, so it runs on the host.
      registerLoss(
        { name: 'plugin-dice-bce', description: 'test', source: 'test-plugin', lossFn: regionDiceBceLoss },
        { override: true },
      );
      const one = (out: string, over: Partial<TrainOptions>) =>
        shortRun(path.join(fixture.dir, out), { iterationsPerEpoch: 1, ...over });
      const cpu = await trainRecording(one('plugin-tfjs', { loss: 'plugin-dice-bce' }));
      const host = await trainRecording(one('plugin-webgpu', onGpu({ loss: 'plugin-dice-bce' })));
      const kernel = await trainRecording(one('kernel-webgpu', onGpu({ loss: 'dice-bce' })));
      console.log(
        'first-step Dice + BCE: tfjs',
        cpu.steps[0]!.loss,
        'GPU host path',
        host.steps[0]!.loss,
        'GPU kernel',
        kernel.steps[0]!.loss,
      );
      expect(Math.abs(host.steps[0]!.loss - cpu.steps[0]!.loss)).toBeLessThanOrEqual(FIRST_STEP_TOLERANCE);
      expect(Math.abs(kernel.steps[0]!.loss - cpu.steps[0]!.loss)).toBeLessThanOrEqual(FIRST_STEP_TOLERANCE);
      expect(Math.abs(host.result.log[0]!.valLoss! - cpu.result.log[0]!.valLoss!)).toBeLessThanOrEqual(
        LATER_STEP_TOLERANCE,
      );
    },
  );

  it(
    'a diverging run stops with TRAINING_DIVERGED naming the epoch and iteration, before any checkpoint',
    { timeout: 600_000 },
    async () => {
      const out = path.join(fixture.dir, 'nan-webgpu');
      const error = await trainFold(shortRun(out, onGpu({ learningRate: 1e30 }))).catch((e) => e);
      expect(error).toBeInstanceOf(MedNeXtError);
      expect((error as MedNeXtError).code).toBe('TRAINING_DIVERGED');
      // Step 0 is finite; its update with lr 1e30 makes step 1's loss non-finite.
      expect((error as Error).message).toMatch(/^epoch 0 iteration 1: .*the loss is (NaN|-?Infinity)/);
      expect(existsSync(path.join(out, 'fold_0', 'checkpoint_last.safetensors'))).toBe(false);
    },
  );

  it(
    'whole-case validation runs sliding windows over the GPU forward; patch logits match tfjs',
    { timeout: 600_000 },
    async () => {
      const out = path.join(fixture.dir, 'whole-webgpu');
      const { result } = await trainRecording(shortRun(out, onGpu({ iterationsPerEpoch: 1, validation: 'whole' })));
      expect(result.log[0]!.valLoss).toBeNull();
      expect(result.log[0]!.valDiceMean).not.toBeNull();
      // The engine's validation passes against the model's own on the same parameters.
      const options = shortRun(out, onGpu());
      const model = MedNeXt.create(options.model, { seed: 11 });
      const setup = {
        options,
        model,
        trainable: model.trainableVariables(),
        deepSupervision: true,
        lossFn: lossByName('dice-focal'),
        modalities: 4,
        regions: 3,
      };
      const [gpuEngine, cpuEngine] = [
        await createTrainingEngine('webgpu', setup),
        await createTrainingEngine('tfjs', setup),
      ];
      try {
        gpuEngine.eval();
        cpuEngine.eval();
        const x = tf.randomNormal([1, 16, 16, 16, 4], 0, 1, 'float32', 5) as tf.Tensor5D;
        const [lg, lc] = [await gpuEngine.validationLogits(x), await cpuEngine.validationLogits(x)];
        expect(lg.shape).toEqual([1, 16, 16, 16, 3]);
        const logitDiff = tf.max(tf.abs(tf.sub(lg, lc))).dataSync()[0]!;
        expect(logitDiff).toBeLessThanOrEqual(1e-4);
        const windows = new Float32Array(2 * 4 * 16 ** 3).map((_, i) => Math.sin(i * 0.37));
        const [pg, pc] = await Promise.all([
          gpuEngine.predictor([16, 16, 16])(windows, 2),
          cpuEngine.predictor([16, 16, 16])(windows, 2),
        ]);
        expect(pg.length).toBe(2 * 3 * 16 ** 3);
        let probDiff = 0;
        for (let i = 0; i < pc.length; i++) probDiff = Math.max(probDiff, Math.abs(pg[i]! - pc[i]!));
        expect(probDiff).toBeLessThanOrEqual(1e-4 / 4);
        tf.dispose([x, lg, lc]);
      } finally {
        gpuEngine.dispose();
        cpuEngine.dispose();
        model.dispose();
      }
    },
  );
});
