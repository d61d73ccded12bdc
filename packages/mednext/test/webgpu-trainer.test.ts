/**
 * The GPU trainer (`createWebGpuTrainer`) against the CPU training step (`trainStep` with tfjs Schedule-Free
 * AdamW) on the same model initialisation, batch and optimizer settings: losses, updated weights, the optimizer
 * state (interchangeable both ways), resume, fine-tuning subsets, host losses and errors. WebGPU is expected:
 * without an adapter these tests FAIL with the reason, unless the environment declares `MEDNEXT_SKIP_WEBGPU=1`.
 *
 * Tolerances. The GPU and tfjs compute the loss and the gradients in f32 with different summation orders; the
 * network's gradients agree to 1e-3 of each tensor's scale (webgpu-backward-network.test.ts); the losses here to
 * 1e-5 relative. Schedule-Free AdamW normalises every element's gradient: a step moves an element by
 * lr·g/(ĝ + ε), ĝ the root-mean-square gradient (from exp_avg_sq, bias-corrected), so from the same weights and
 * state a gradient error δ moves the weights by at most lr·min(2, 2δ/(ĝ + ε)) — a gradient that is only float noise
 * (the conv1 biases GroupNorm cancels) may even change sign on the first step. The weights after a step both engines
 * took from the same weights and state are compared per element against that bound, with δ = 2e-3 of the tensor's
 * gradient scale (the conv1 biases against their block's conv1 weight gradient scale, as in the backward tests).
 * Free-running steps separate the weights by those bounds and the later gradients with them, so over several steps
 * the loss curve is compared, and the weights in lockstep (the GPU restarted from the CPU's weights and state
 * after each step). The state's group counters are computed on the host by the same code: bit-identical.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MedNeXt,
  MedNeXtError,
  batchDiceFocalLoss,
  regionDiceBceLoss,
  finetuneParameterNames,
  targetPyramid,
  toNcdhw,
  toNdhwc,
  createWebGpuTrainer,
  type LossFn,
  type MedNeXtConfig,
  type OptimizerState,
  type WebGpuTrainerOptions,
} from '../src/index.js';
import { acquireGpuDevice, GpuRuntime } from '@mednext-ts/tensor3d/webgpu';
import { GpuBatchLayout, levelSize, releaseGpuBatch } from '../src/training/webgpu/batch.js';
import { CpuTrainer, syntheticBatch } from './helpers/cpu-train-step.js';
import { useBackend } from './helpers.js';
import { keptActivationBytes } from './helpers/kept-activations.js';

const SKIP = !!process.env.MEDNEXT_SKIP_WEBGPU;

/** Width 4, GRN, residuals everywhere, deep-supervision heads. */
const CONFIG: MedNeXtConfig = {
  in_channels: 2,
  n_channels: 4,
  n_classes: 2,
  exp_r: 2,
  kernel_size: 3,
  deep_supervision: true,
  do_res: true,
  do_res_up_down: true,
  block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
  grn: true,
} as MedNeXtConfig;

const LR = 2e-3;
const WD = 0.01;
const diceFocal: LossFn = (logits, target) => batchDiceFocalLoss(logits, target);
const EPS = 1e-8;

/** Two identical models (same seed): one for each engine. GRN and norm affines moved off their initial values. */
function twinModels(seed: number): [MedNeXt, MedNeXt] {
  const make = (): MedNeXt => {
    const m = MedNeXt.create(CONFIG, { seed });
    tf.tidy(() => {
      let k = 0;
      for (const [name, v] of m.params) {
        if (/grn_|norm\./.test(name)) v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.3, 'float32', 100 + k++)));
      }
    });
    return m;
  };
  return [make(), make()];
}

function gpuOptions(o: Partial<WebGpuTrainerOptions> & Pick<WebGpuTrainerOptions, 'patchSize'>): WebGpuTrainerOptions {
  return {
    batchSize: 1,
    deepSupervision: false,
    loss: 'dice-focal',
    optimizer: { learningRate: LR, weightDecay: WD },
    ...o,
  };
}

/**
 * Checks the GPU weights against the CPU's per element with the Schedule-Free AdamW bound of the file header, after
 * a step both took from the same weights and state.
 * @returns the largest ratio |Δ|/tolerance, for the log
 */
function expectWeightsClose(
  gpu: ReadonlyMap<string, Float32Array>,
  cpu: ReadonlyMap<string, Float32Array>,
  cpuState: OptimizerState,
): number {
  let worst = 0;
  const k = cpuState.words.iter![0]!;
  const bc2 = 1 - 0.999 ** k;
  for (const [name, ref] of cpu) {
    const got = gpu.get(name)!;
    expect(got, name).toBeDefined();
    expect(got.length, name).toBe(ref.length);
    if (!cpuState.tensors.has(`${name}/exp_avg_sq`)) {
      // No gradient, no state: the parameter never moved on either engine.
      expect(Array.from(got), `${name} (untrained)`).toEqual(Array.from(ref));
      continue;
    }
    const rms = (key: string): Float32Array => cpuState.tensors.get(key)!.data.map((s) => Math.sqrt(s / bc2));
    const g = rms(`${name}/exp_avg_sq`);
    // The conv1 biases' gradients are zero in theory (GroupNorm cancels them) and float noise on both engines:
    // their error is measured against the scale of the same block's conv1 weight gradient.
    const scaleOf = name.endsWith('conv1.bias') ? rms(`${name.replace(/bias$/, 'weight')}/exp_avg_sq`) : g;
    const delta = 2e-3 * scaleOf.reduce((a, b) => Math.max(a, b), 0);
    for (let i = 0; i < ref.length; i++) {
      const tol = LR * Math.min(2, (2 * delta) / (g[i]! + EPS)) + 1e-6 * Math.abs(ref[i]!) + 1e-7;
      const diff = Math.abs(got[i]! - ref[i]!);
      worst = Math.max(worst, diff / tol);
      if (diff > tol) expect(diff, `${name}[${i}]: |gpu − cpu| = ${diff} > ${tol}`).toBeLessThanOrEqual(tol);
    }
  }
  return worst;
}

/**
 * The state of both engines: same entries in the same order, identical words, slots close. After a step both engines took
 * from the same weights and state (`fromSameWeights`) exp_avg_sq = (1 − β2)·g² carries only the gradients' float
 * error: a 2e-3 relative gradient error is a 4e-3 relative error of g². After later steps the gradients are taken
 * at weights that differ by the update bound (header), so only the structure and the words are compared here and
 * the weights by {@link expectWeightsClose}.
 */
function expectStatesClose(gpu: OptimizerState, cpu: OptimizerState, fromSameWeights = false): void {
  expect(gpu.kind).toBe('schedulefree');
  expect(gpu.order).toEqual(cpu.order);
  expect(gpu.words).toEqual(cpu.words);
  for (const [key, ref] of cpu.tensors) {
    const got = gpu.tensors.get(key)!;
    expect(got.shape, key).toEqual(ref.shape);
    let maxRef = 0;
    let maxDiff = 0;
    for (let i = 0; i < ref.data.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(ref.data[i]!));
      maxDiff = Math.max(maxDiff, Math.abs(got.data[i]! - ref.data[i]!));
    }
    if (fromSameWeights && key.endsWith('/exp_avg_sq') && !key.includes('conv1.bias'))
      expect(maxDiff, `${key}: ${maxDiff} vs scale ${maxRef}`).toBeLessThanOrEqual(4e-3 * maxRef + 1e-20);
  }
}

/** Bit-identical states: same entries, words and every float. */
function expectStatesIdentical(a: OptimizerState, b: OptimizerState): void {
  expect(a.kind).toBe(b.kind);
  expect(a.order).toEqual(b.order);
  expect(a.words).toEqual(b.words);
  expect([...a.tensors.keys()]).toEqual([...b.tensors.keys()]);
  for (const [key, t] of b.tensors) {
    expect(a.tensors.get(key)!.shape, key).toEqual(t.shape);
    expect(Buffer.from(a.tensors.get(key)!.data.buffer).equals(Buffer.from(t.data.buffer)), key).toBe(true);
  }
}

/** Bit-identical weight maps. */
function expectWeightsIdentical(a: ReadonlyMap<string, Float32Array>, b: ReadonlyMap<string, Float32Array>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, t] of b) {
    const u = a.get(name)!;
    expect(
      Buffer.from(u.buffer, u.byteOffset, u.byteLength).equals(Buffer.from(t.buffer, t.byteOffset, t.byteLength)),
      name,
    ).toBe(true);
  }
}

/**
 * `device` as seen from a GPU whose work outlasts the host's recording: the 4-byte loss readbacks (the trainer's
 * only per-step wait) are reported mapped `delayMs` later than they are. The values and the queue order are the
 * device's own; only the moment the host learns of a step's end moves, as on a GPU still running the step while
 * the next one is recorded (Dawn's OpenGL backend on llvmpipe runs the work inside submit()).
 */
function slowCompletionDevice(device: GPUDevice, delayMs: number): GPUDevice {
  return new Proxy(device, {
    get(target, key) {
      if (key === 'createBuffer') {
        return (descriptor: GPUBufferDescriptor): GPUBuffer => {
          const buffer = target.createBuffer(descriptor);
          if (descriptor.size === 4 && descriptor.usage & 0x1 /* MAP_READ */) {
            const map = buffer.mapAsync.bind(buffer);
            buffer.mapAsync = async (...args: Parameters<GPUBuffer['mapAsync']>) => {
              await map(...args);
              await new Promise((resolve) => setTimeout(resolve, delayMs));
            };
          }
          return buffer;
        };
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe.skipIf(SKIP)('WebGPU trainer: batch preparation on the GPU', () => {
  it('channels-first inputs and the target pyramid equal toNcdhw and targetPyramid exactly (16x32x48, batch 2)', async () => {
    await useBackend('cpu');
    const spatial: [number, number, number] = [16, 32, 48];
    const { x, y } = syntheticBatch(2, spatial, 2, 3, 4);
    // Every voxel distinct, so a wrong source index cannot go unnoticed.
    const distinctX = x.map((v, i) => v + i * 1e-3);
    const distinctY = y.map((v, i) => v + i * 1e-3);
    const { device } = await acquireGpuDevice();
    const rt = new GpuRuntime(device);
    const layout = new GpuBatchLayout(rt, { batch: 2, spatial, modalities: 2, regions: 3 }, 5);
    try {
      const gpu = layout.record({ x: distinctX, y: distinctY }, true);
      const read = await rt.finish([...gpu.inputs.map((v) => v.tensor), ...gpu.targets]);
      const inputs = toNcdhw(tf.tensor5d(distinctX, [2, ...spatial, 2]));
      const perSample = inputs.dataSync().length / 2;
      for (let n = 0; n < 2; n++) {
        expect(Array.from(read[n]!), `input ${n}`).toEqual(
          Array.from(inputs.dataSync().subarray(n * perSample, (n + 1) * perSample)),
        );
      }
      const ref = targetPyramid(tf.tensor5d(distinctY, [2, ...spatial, 3]), 5);
      ref.forEach((t, level) => {
        expect(t.shape).toEqual([2, ...levelSize(spatial, level), 3]);
        const first = toNcdhw(t as tf.Tensor5D);
        expect(Array.from(read[2 + level]!), `level ${level}`).toEqual(Array.from(first.dataSync()));
        tf.dispose([t, first]);
      });
      tf.dispose(inputs);
      releaseGpuBatch(rt, gpu);
      // Without a GPU loss the targets are neither uploaded nor built.
      const inputsOnly = layout.record({ x: distinctX, y: distinctY }, false);
      expect(inputsOnly.targets).toEqual([]);
      expect(Array.from(await rt.read(inputsOnly.inputs[1]!.tensor))).toEqual(Array.from(read[1]!));
      releaseGpuBatch(rt, inputsOnly);
    } finally {
      layout.dispose();
      rt.dispose();
      device.destroy();
    }
  });
});

describe.skipIf(SKIP)('WebGPU trainer', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it(
    'batch 1, no DS, dice-focal: three steps match the CPU step (losses, weights, state)',
    { timeout: 600_000 },
    async () => {
      const spatial: [number, number, number] = [16, 16, 16];
      const [gpuModel, cpuModel] = twinModels(5);
      const trainer = await createWebGpuTrainer(gpuModel, gpuOptions({ patchSize: spatial }));
      const cpu = new CpuTrainer(cpuModel, {
        patchSize: spatial,
        batchSize: 1,
        deepSupervision: false,
        lossFn: diceFocal,
        learningRate: LR,
        weightDecay: WD,
      });
      try {
        const initial = await trainer.readWeights();
        trainer.train();
        cpu.train();
        for (let s = 0; s < 3; s++) {
          const batch = syntheticBatch(1, spatial, 2, 2, s);
          const report = await trainer.step(batch);
          const ref = await cpu.step(batch);
          console.log(
            `step ${s}: gpu ${report.loss} cpu ${ref} (${report.stepMs.toFixed(0)} ms, peak ${report.peakBytes})`,
          );
          expect(Math.abs(report.loss - ref)).toBeLessThanOrEqual(1e-5 * Math.abs(ref) + 1e-6);
          const cpuState = await cpu.saveState();
          if (s > 0) {
            // Free-running: the same state entries and counters.
            expectStatesClose(await trainer.saveState(), cpuState);
            continue;
          }
          // The first step, from the same initialisation: state, y, and after eval() x.
          expectStatesClose(await trainer.saveState(), cpuState, true);
          const gpuY = await trainer.readWeights();
          const worst = expectWeightsClose(gpuY, cpu.weights(), cpuState);
          // The weights did move (by about lr).
          const stem = gpuY.get('stem.weight')!;
          const moved = stem.reduce((m, v, i) => Math.max(m, Math.abs(v - initial.get('stem.weight')![i]!)), 0);
          expect(moved).toBeGreaterThan(LR / 2);
          trainer.eval();
          cpu.eval();
          expect(trainer.mode).toBe('eval');
          const worstX = expectWeightsClose(await trainer.readWeights(), cpu.weights(), cpuState);
          console.log(`first step: worst |Δ|/tolerance y ${worst.toFixed(3)}, x ${worstX.toFixed(3)}`);
          trainer.train();
          cpu.train();
          expect(trainer.mode).toBe('train');
        }
      } finally {
        trainer.dispose();
        cpu.dispose();
        gpuModel.dispose();
        cpuModel.dispose();
      }
    },
  );
  it('batch 2 with deep supervision: two steps match the tfjs batch-2 step', { timeout: 600_000 }, async () => {
    const spatial: [number, number, number] = [16, 16, 32];
    const [gpuModel, cpuModel] = twinModels(8);
    const trainer = await createWebGpuTrainer(
      gpuModel,
      gpuOptions({ patchSize: spatial, batchSize: 2, deepSupervision: true }),
    );
    const cpu = new CpuTrainer(cpuModel, {
      patchSize: spatial,
      batchSize: 2,
      deepSupervision: true,
      lossFn: diceFocal,
      learningRate: LR,
      weightDecay: WD,
    });
    try {
      trainer.train();
      cpu.train();
      const reports = [];
      let worst = 0;
      for (let s = 0; s < 2; s++) {
        const batch = syntheticBatch(2, spatial, 2, 2, 10 + s);
        const report = await trainer.step(batch);
        const ref = await cpu.step(batch);
        expect(Math.abs(report.loss - ref), `step ${s}: gpu ${report.loss} cpu ${ref}`).toBeLessThanOrEqual(
          1e-5 * Math.abs(ref) + 1e-6,
        );
        reports.push(report);
        const cpuState = await cpu.saveState();
        // Every head and every parameter trained: the state has all 5 heads' parameters.
        expect(cpuState.tensors.has('out_4.conv_out.weight/z')).toBe(true);
        expectStatesClose(await trainer.saveState(), cpuState, true);
        const cpuWeights = cpu.weights();
        worst = Math.max(worst, expectWeightsClose(await trainer.readWeights(), cpuWeights, cpuState));
        // Lockstep: the next step starts from the same weights and state on both engines.
        trainer.writeWeights(cpuWeights);
        await trainer.loadState(cpuState);
      }
      expect(reports[0]!.gpuIdleMs).toBe(0);
      expect(reports[1]!.gpuIdleMs).toBeGreaterThan(0);
      expect(reports[1]!.peakBytes).toBe(reports[0]!.peakBytes);
      expect(trainer.peakBytes()).toBeGreaterThanOrEqual(reports[1]!.peakBytes);
      console.log(
        `batch 2 DS: losses ${reports.map((r) => r.loss).join(', ')}; worst |Δ|/tolerance ${worst.toFixed(3)}; ` +
          `step ${reports[1]!.stepMs.toFixed(0)} ms, GPU idle ${reports[1]!.gpuIdleMs.toFixed(1)} ms, peak ${reports[1]!.peakBytes} bytes`,
      );
    } finally {
      trainer.dispose();
      cpu.dispose();
      gpuModel.dispose();
      cpuModel.dispose();
    }
  });

  it(
    'save/load: a resumed trainer continues bit-identically; states move between CPU and GPU both ways',
    { timeout: 600_000 },
    async () => {
      const spatial: [number, number, number] = [16, 16, 16];
      const [gpuModel, cpuModel] = twinModels(9);
      const options = gpuOptions({ patchSize: spatial, deepSupervision: true });
      const cpuSettings = {
        patchSize: spatial,
        batchSize: 1,
        deepSupervision: true,
        lossFn: diceFocal,
        learningRate: LR,
        weightDecay: WD,
      };
      const batches = [0, 1, 2].map((s) => syntheticBatch(1, spatial, 2, 2, 20 + s));
      const first = await createWebGpuTrainer(gpuModel, options);
      const resumed = await createWebGpuTrainer(gpuModel, options);
      const cpu = new CpuTrainer(cpuModel, cpuSettings);
      try {
        // GPU → GPU, saved as a checkpoint is (eval mode: x and the state), then trained on.
        first.train();
        for (const b of batches.slice(0, 2)) await first.step(b);
        first.eval();
        const saved = await first.saveState();
        const savedWeights = await first.readWeights();
        resumed.writeWeights(savedWeights);
        await resumed.loadState(saved);
        expect(resumed.mode).toBe('eval');
        expectStatesIdentical(await resumed.saveState(), saved);
        expectWeightsIdentical(await resumed.readWeights(), savedWeights);
        first.train();
        resumed.train();
        const a = await first.step(batches[2]!);
        const b = await resumed.step(batches[2]!);
        expect(b.loss).toBe(a.loss);
        expectWeightsIdentical(await resumed.readWeights(), await first.readWeights());
        expectStatesIdentical(await resumed.saveState(), await first.saveState());

        // GPU → CPU: the CPU loads the GPU's state exactly and its next step agrees with the GPU's.
        cpu.setWeights(savedWeights);
        await cpu.loadState(saved);
        expectStatesIdentical(await cpu.saveState(), saved);
        cpu.train();
        const cpuLoss = await cpu.step(batches[2]!);
        expect(Math.abs(cpuLoss - a.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(cpuLoss) + 1e-6);
        const cpuState = await cpu.saveState();
        expectStatesClose(await first.saveState(), cpuState, true);
        expectWeightsClose(await first.readWeights(), cpu.weights(), cpuState);

        // CPU → GPU: the GPU loads the CPU's state (after its step) exactly, and both take one more step.
        cpu.eval();
        const cpuSaved = await cpu.saveState();
        resumed.writeWeights(cpu.weights());
        await resumed.loadState(cpuSaved);
        expectStatesIdentical(await resumed.saveState(), cpuSaved);
        resumed.train();
        cpu.train();
        const next = syntheticBatch(1, spatial, 2, 2, 30);
        const g = await resumed.step(next);
        const c = await cpu.step(next);
        expect(Math.abs(g.loss - c)).toBeLessThanOrEqual(1e-5 * Math.abs(c) + 1e-6);
        const after = await cpu.saveState();
        expectStatesClose(await resumed.saveState(), after, true);
        expectWeightsClose(await resumed.readWeights(), cpu.weights(), after);
      } finally {
        first.dispose();
        resumed.dispose();
        cpu.dispose();
        gpuModel.dispose();
        cpuModel.dispose();
      }
    },
  );

  it(
    'a trainable subset: only those move and have state (as on the CPU step); the others stay bit-identical',
    { timeout: 600_000 },
    async () => {
      const spatial: [number, number, number] = [16, 16, 16];
      const [gpuModel, cpuModel] = twinModels(12);
      const trainable = finetuneParameterNames(gpuModel, 2);
      expect(trainable.length).toBeGreaterThan(10);
      const trainer = await createWebGpuTrainer(
        gpuModel,
        gpuOptions({ patchSize: spatial, deepSupervision: true, trainable }),
      );
      const cpu = new CpuTrainer(cpuModel, {
        patchSize: spatial,
        batchSize: 1,
        deepSupervision: true,
        lossFn: diceFocal,
        learningRate: LR,
        weightDecay: WD,
        trainable,
      });
      try {
        const initial = await trainer.readWeights();
        trainer.train();
        cpu.train();
        const batch = syntheticBatch(1, spatial, 2, 2, 40);
        const report = await trainer.step(batch);
        const ref = await cpu.step(batch);
        expect(Math.abs(report.loss - ref)).toBeLessThanOrEqual(1e-5 * Math.abs(ref) + 1e-6);
        trainer.eval();
        cpu.eval();
        const state = await trainer.saveState();
        const cpuState = await cpu.saveState();
        const stateNames = new Set([...state.tensors.keys()].map((k) => k.slice(0, k.lastIndexOf('/'))));
        expect([...stateNames].sort()).toEqual([...trainable].sort());
        expectStatesClose(state, cpuState, true);
        const after = await trainer.readWeights();
        const names = new Set(trainable);
        for (const [name, w] of initial) {
          if (names.has(name)) expect(Array.from(after.get(name)!), name).not.toEqual(Array.from(w));
          else expectWeightsIdentical(new Map([[name, after.get(name)!]]), new Map([[name, w]]));
        }
        expectWeightsClose(after, cpu.weights(), cpuState);
      } finally {
        trainer.dispose();
        cpu.dispose();
        gpuModel.dispose();
        cpuModel.dispose();
      }
    },
  );

  it(
    'a host loss (LossFn) with batch 2 and DS, and the GPU dice-bce: each matches the CPU step; forward() matches tfjs',
    { timeout: 600_000 },
    async () => {
      const spatial: [number, number, number] = [16, 16, 16];
      // A loss without GPU kernels: mean squared error of the probabilities.
      const squared: LossFn = (logits, target) =>
        tf.tidy(() => tf.mean(tf.square(tf.sub(tf.sigmoid(logits), target))) as tf.Scalar);
      const diceBce: LossFn = (logits, target) => regionDiceBceLoss(logits, target);
      for (const [loss, lossFn, batchSize] of [
        [squared, squared, 2],
        ['dice-bce', diceBce, 1],
      ] as const) {
        const [gpuModel, cpuModel] = twinModels(14);
        const trainer = await createWebGpuTrainer(
          gpuModel,
          gpuOptions({ patchSize: spatial, batchSize, deepSupervision: true, loss }),
        );
        const cpu = new CpuTrainer(cpuModel, {
          patchSize: spatial,
          batchSize,
          deepSupervision: true,
          lossFn,
          learningRate: LR,
          weightDecay: WD,
        });
        try {
          trainer.train();
          cpu.train();
          const batch = syntheticBatch(batchSize, spatial, 2, 2, 50);
          const report = await trainer.step(batch);
          const ref = await cpu.step(batch);
          expect(Math.abs(report.loss - ref), `${String(loss)}: gpu ${report.loss} cpu ${ref}`).toBeLessThanOrEqual(
            1e-5 * Math.abs(ref) + 1e-6,
          );
          const cpuState = await cpu.saveState();
          expectStatesClose(await trainer.saveState(), cpuState, true);
          expectWeightsClose(await trainer.readWeights(), cpu.weights(), cpuState);
          if (typeof loss === 'string') {
            // The validation forward runs on the trained GPU parameters (x after eval()).
            trainer.eval();
            cpu.eval();
            const x = tf.randomNormal([1, 2, ...spatial], 0, 1, 'float32', 3) as tf.Tensor5D;
            const gpuLogits = await trainer.forward(x.dataSync() as Float32Array, spatial);
            const ref5 = tf.tidy(() =>
              toNcdhw(cpuModel.forward(toNdhwc(x), { deepSupervision: false })[0] as tf.Tensor5D),
            );
            const refData = ref5.dataSync();
            let diff = 0;
            for (let i = 0; i < refData.length; i++) diff = Math.max(diff, Math.abs(gpuLogits[i]! - refData[i]!));
            // The weights agree within the update bound above (≈ lr·1e-2 here); the logits to 1e-3.
            expect(diff).toBeLessThanOrEqual(1e-3);
            tf.dispose([x, ref5]);
          }
        } finally {
          trainer.dispose();
          cpu.dispose();
          gpuModel.dispose();
          cpuModel.dispose();
        }
      }
    },
  );

  it(
    "activationStorage 'f16': a batch-2 DS step's loss within f16 rounding of f32's, in less GPU memory",
    { timeout: 600_000 },
    async () => {
      const spatial: [number, number, number] = [32, 32, 32];
      const [a, b] = twinModels(9);
      const options = gpuOptions({ patchSize: spatial, batchSize: 2, deepSupervision: true });
      const f32 = await createWebGpuTrainer(a, options);
      const f16 = await createWebGpuTrainer(b, { ...options, activationStorage: 'f16' });
      try {
        f32.train();
        f16.train();
        const batch = syntheticBatch(2, spatial, 2, 2, 1);
        const r32 = await f32.step(batch);
        const r16 = await f16.step(batch);
        console.log(
          `f16 activation storage, batch 2 DS 32^3: loss ${r16.loss} vs ${r32.loss} (f32), ` +
            `peak ${r16.peakBytes} vs ${r32.peakBytes} bytes (${(r16.peakBytes / r32.peakBytes).toFixed(3)})`,
        );
        // The loss sees the f16-storage forward, which differs from f32 only by the skips the up blocks read back
        // rounded to f16 (relative 2^-11 each): the loss moves by a few such roundings at most.
        expect(r16.loss).not.toBe(r32.loss);
        expect(Math.abs(r16.loss - r32.loss)).toBeLessThanOrEqual(16 * 2 ** -11 * Math.abs(r32.loss));
        // The same parameters, optimizer state and batch: only the kept activations shrink, by half of two samples'
        // worth less the one value unpacked at a time (measured here: 0.95 of it; peaks 0.908 of f32's).
        // Halving two samples' kept values saves one sample's f32 bytes.
        const saving = keptActivationBytes(a, 2, spatial);
        expect(r32.peakBytes - r16.peakBytes).toBeGreaterThanOrEqual(0.85 * saving);
        // The f16 gradients did update the weights as the f32 ones, to within the step's scale (lr).
        const w32 = await f32.readWeights();
        const w16 = await f16.readWeights();
        let worst = 0;
        for (const [name, v] of w32) {
          const u = w16.get(name)!;
          for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(u[i]! - v[i]!));
        }
        expect(worst).toBeLessThanOrEqual(2 * LR);
      } finally {
        f32.dispose();
        f16.dispose();
        a.dispose();
        b.dispose();
      }
    },
  );
  it(
    'overlapped steps (the next called before the previous report is awaited) equal sequential steps bit for bit',
    { timeout: 600_000 },
    async () => {
      const spatial: [number, number, number] = [16, 16, 16];
      const [sequentialModel, overlappedModel] = twinModels(16);
      const options = gpuOptions({ patchSize: spatial, batchSize: 2, deepSupervision: true });
      const batches = [0, 1, 2].map((s) => syntheticBatch(2, spatial, 2, 2, 60 + s));
      const sequential = await createWebGpuTrainer(sequentialModel, options);
      const { device } = await acquireGpuDevice();
      // The host learns of each step's end 1.5 s late: the next step is recorded and submitted while the
      // previous one is, as far as the trainer can tell, still running.
      const overlapped = await createWebGpuTrainer(overlappedModel, {
        ...options,
        device: slowCompletionDevice(device, 1500),
      });
      try {
        sequential.train();
        overlapped.train();
        const one = [];
        for (const b of batches) one.push(await sequential.step(b));
        const calls = batches.map((b) => overlapped.step(b));
        // Parameter changes are refused while steps are queued.
        expect(() => overlapped.eval()).toThrow(/eval\(\) while 3 step\/forward\/read call\(s\) are under way/);
        const settled: number[] = [];
        calls.forEach((c, i) => void c.then(() => settled.push(i)));
        const two = await Promise.all(calls);
        expect(settled, 'reports in call order').toEqual([0, 1, 2]);
        expect(two.map((r) => r.loss)).toEqual(one.map((r) => r.loss));
        expectWeightsIdentical(await overlapped.readWeights(), await sequential.readWeights());
        expectStatesIdentical(await overlapped.saveState(), await sequential.saveState());
        expect(two.map((r) => r.peakBytes)).toEqual(one.map((r) => r.peakBytes));
        // Each report is its own: the later steps were submitted while their predecessor was still running (no
        // idle time) and took at least the delayed completion of their predecessor.
        expect(two[0]!.gpuIdleMs).toBe(0);
        expect(one[1]!.gpuIdleMs).toBeGreaterThan(0);
        for (const r of two.slice(1)) {
          expect(r.gpuIdleMs).toBe(0);
          expect(r.gpuIdleMs).toBeLessThan(one[1]!.gpuIdleMs);
          expect(r.stepMs).toBeGreaterThan(1500);
        }
        // After the queued steps the trainer is idle again: eval() is accepted.
        overlapped.eval();
        expect(overlapped.mode).toBe('eval');
        console.log(
          `overlapped: losses ${two.map((r) => r.loss).join(', ')}; GPU idle sequential ` +
            `${one.map((r) => r.gpuIdleMs.toFixed(1)).join(', ')} ms, overlapped ${two.map((r) => r.gpuIdleMs.toFixed(1)).join(', ')} ms`,
        );
      } finally {
        sequential.dispose();
        overlapped.dispose();
        device.destroy();
        sequentialModel.dispose();
        overlappedModel.dispose();
      }
    },
  );

  it('bad options and inputs are refused with what is expected', { timeout: 300_000 }, async () => {
    const model = MedNeXt.create(CONFIG, { seed: 1 });
    const noHeads = MedNeXt.create({ ...CONFIG, deep_supervision: false }, { seed: 1 });
    const refusal = async (p: Promise<unknown>): Promise<MedNeXtError> => {
      const e = await p.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(MedNeXtError);
      return e as MedNeXtError;
    };
    try {
      let e = await refusal(createWebGpuTrainer(model, gpuOptions({ patchSize: [16, 24, 16] })));
      expect(e.code).toBe('TRAINING_SETTING');
      expect(e.message).toMatch(/patchSize must be three positive multiples of 16.*16x24x16/);
      e = await refusal(createWebGpuTrainer(noHeads, gpuOptions({ patchSize: [16, 16, 16], deepSupervision: true })));
      expect(e.message).toMatch(/deepSupervision needs the deep-supervision heads out_1..out_4/);
      e = await refusal(
        createWebGpuTrainer(model, gpuOptions({ patchSize: [16, 16, 16], activationStorage: 'bf16' as 'f16' })),
      );
      expect(e.code).toBe('TRAINING_SETTING');
      expect(e.message).toMatch(/activationStorage must be 'f32' or 'f16', got "bf16"/);
      e = await refusal(
        createWebGpuTrainer(model, gpuOptions({ patchSize: [16, 16, 16], trainable: ['nope.weight'] })),
      );
      expect(e.message).toMatch(/trainable names parameters this model does not train: nope.weight/);
      e = await refusal(createWebGpuTrainer(model, gpuOptions({ patchSize: [16, 16, 16], batchSize: 0 })));
      expect(e.message).toMatch(/batchSize must be a positive integer, got 0/);
      // 16^3 voxels are 16 KiB per channel: the 4-channel stem output does not fit 32 KiB.
      e = await refusal(
        createWebGpuTrainer(model, gpuOptions({ patchSize: [16, 16, 16], maxBindingBytes: 32 * 1024 })),
      );
      expect(e.code).toBe('GPU_LIMIT');
      expect(e.message).toMatch(
        /a full-resolution activation \(4x16x16x16 f32, 65536 bytes\) exceeds one storage binding \(32768 bytes\).*smaller patch/,
      );

      const trainer = await createWebGpuTrainer(model, gpuOptions({ patchSize: [16, 16, 16], batchSize: 2 }));
      try {
        const good = syntheticBatch(2, [16, 16, 16], 2, 2, 0);
        e = await refusal(trainer.step(good));
        expect(e.message).toMatch(/step\(\) in eval mode; call train\(\)/);
        trainer.train();
        e = await refusal(trainer.step({ x: good.x.subarray(0, 16 ** 3 * 2), y: good.y }));
        expect(e.code).toBe('GPU_INPUT');
        expect(e.message).toMatch(
          /batch.x has 8192 values, expected \[batch, D, H, W, modalities\] = 2x16x16x16x2 = 16384/,
        );
        e = await refusal(trainer.step({ x: good.x, y: good.y.subarray(1) }));
        expect(e.message).toMatch(
          /batch.y has 16383 values, expected \[batch, D, H, W, regions\] = 2x16x16x16x2 = 16384/,
        );
        const weights = await trainer.readWeights();
        expect(() => trainer.writeWeights(new Map([['stem.weight', new Float32Array(3)]]))).toThrow(
          /'stem.weight' has 3 values, shape \[4,2,1,1,1\] needs 8/,
        );
        const partial = new Map(weights);
        partial.delete('stem.bias');
        expect(() => trainer.writeWeights(partial)).toThrow(/1 parameters are missing \(stem.bias\)/);
        const state = await trainer.saveState();
        e = await refusal(trainer.loadState({ ...state, kind: 'adamw-poly' }));
        expect(e.code).toBe('CHECKPOINT_INVALID');
        // Refusals leave the trainer usable: a step runs and the weights move. Parameter changes that cannot wait
        // are refused while it runs.
        const running = trainer.step(good);
        expect(() => trainer.eval()).toThrow(/eval\(\) while 1 step\/forward\/read call\(s\) are under way/);
        expect(() => trainer.writeWeights(weights)).toThrow(/under way; await them first/);
        const report = await running;
        expect(trainer.mode).toBe('train');
        expect(Number.isFinite(report.loss)).toBe(true);
        expect(Array.from((await trainer.readWeights()).get('stem.weight')!)).not.toEqual(
          Array.from(weights.get('stem.weight')!),
        );
      } finally {
        trainer.dispose();
      }
      await expect(trainer.step(syntheticBatch(2, [16, 16, 16], 2, 2, 0))).rejects.toThrow(/after dispose/);

      // A loss that is not finite: the step is reported as diverged (after its update, as on the CPU).
      const nan: LossFn = (logits) => tf.tidy(() => tf.mul(tf.sum(logits), Number.NaN) as tf.Scalar);
      const diverging = await createWebGpuTrainer(model, gpuOptions({ patchSize: [16, 16, 16], loss: nan }));
      try {
        diverging.train();
        e = await refusal(diverging.step(syntheticBatch(1, [16, 16, 16], 2, 2, 0)));
        expect(e.code).toBe('TRAINING_DIVERGED');
        expect(e.message).toMatch(/the loss is NaN \(the step's update has been applied\); lower the learning rate/);
        // Overlapped: the diverged step reports it, the step queued behind it says so (run or not, depending on
        // whether it was submitted before the divergence was seen), and a later call runs again.
        const [diverged, behind] = [0, 1].map((s) => diverging.step(syntheticBatch(1, [16, 16, 16], 2, 2, s)));
        e = await refusal(diverged!);
        expect(e.message).toMatch(/^WebGPU trainer: the loss is NaN/);
        e = await refusal(behind!);
        expect(e.code).toBe('TRAINING_DIVERGED');
        expect(e.message).toMatch(/step call 3 was queued behind step call 2, whose loss was not finite/);
        e = await refusal(diverging.step(syntheticBatch(1, [16, 16, 16], 2, 2, 2)));
        expect(e.message).toMatch(/^WebGPU trainer: the loss is NaN/);
      } finally {
        diverging.dispose();
      }
    } finally {
      model.dispose();
      noHeads.dispose();
    }
  });
});
