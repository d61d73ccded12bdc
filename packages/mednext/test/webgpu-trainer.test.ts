/**
 * The GPU trainer (`createWebGpuTrainer`) against the CPU training step (`trainStep` with tfjs Schedule-Free
 * AdamW) on the same model initialisation, batch and optimizer settings: losses, updated weights, the optimizer
 * state (interchangeable both ways), resume, fine-tuning subsets, host losses and errors. WebGPU is expected:
 * without an adapter these tests FAIL with the reason, unless the environment declares `MEDNEXT_SKIP_WEBGPU=1`.
 *
 * Tolerances. The GPU and tfjs compute the loss and the gradients in f32 with different summation orders; the
 * network's gradients agree to 1e-3 of each tensor's scale (webgpu-backward-network.test.ts). Schedule-Free AdamW
 * normalises every element's gradient: each step moves an element by about lr·g/(|g| + ε), so a gradient error δ
 * moves the update by at most lr·min(2, 2δ/(|g| + ε)) — a gradient that is only float noise (the conv1 biases
 * GroupNorm cancels) may even change sign. The weights are compared per element against that bound, with δ =
 * 2e-3 of the tensor's gradient scale and |g| the CPU's root-mean-square gradient (from its exp_avg_sq), summed
 * over the steps (the conv1 biases, whose gradient is only noise, against their block's conv1 weight gradient
 * scale, as in the backward tests). The state's group counters are computed on the host by the same code: bit-identical.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MedNeXt,
  batchDiceFocalLoss,
  createWebGpuTrainer,
  type LossFn,
  type MedNeXtConfig,
  type OptimizerState,
  type WebGpuTrainerOptions,
} from '../src/index.js';
import { CpuTrainer, syntheticBatch } from './helpers/cpu-train-step.js';
import { useBackend } from './helpers.js';

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
 * Checks the GPU weights against the CPU's per element with the Schedule-Free AdamW bound of the file header.
 * @returns the largest ratio |Δ|/tolerance, for the log
 */
function expectWeightsClose(
  gpu: ReadonlyMap<string, Float32Array>,
  cpu: ReadonlyMap<string, Float32Array>,
  cpuState: OptimizerState,
  steps: number,
): number {
  let worst = 0;
  const k = cpuState.words.iter![0]!;
  const bc2 = 1 - 0.999 ** k;
  for (const [name, ref] of cpu) {
    const got = gpu.get(name)!;
    expect(got, name).toBeDefined();
    expect(got.length, name).toBe(ref.length);
    const v = cpuState.tensors.get(`${name}/exp_avg_sq`)?.data;
    if (!v) {
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
      const tol = steps * LR * Math.min(2, (2 * delta) / (g[i]! + EPS)) + 1e-6 * Math.abs(ref[i]!) + 1e-7;
      const diff = Math.abs(got[i]! - ref[i]!);
      worst = Math.max(worst, diff / tol);
      if (diff > tol) expect(diff, `${name}[${i}]: |gpu − cpu| = ${diff} > ${tol}`).toBeLessThanOrEqual(tol);
    }
  }
  return worst;
}

/** The state of both engines: same entries in the same order, identical words, slots close. */
function expectStatesClose(gpu: OptimizerState, cpu: OptimizerState): void {
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
    // exp_avg_sq = (1 − β2)·Σ g²: a 2e-3 relative gradient error is a 4e-3 relative error of g².
    if (key.endsWith('/exp_avg_sq') && !key.includes('conv1.bias'))
      expect(maxDiff, `${key}: ${maxDiff} vs scale ${maxRef}`).toBeLessThanOrEqual(4e-3 * maxRef + 1e-20);
  }
}

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
          if (s === 0) expectStatesClose(await trainer.saveState(), await cpu.saveState());
        }
        const cpuState = await cpu.saveState();
        expectStatesClose(await trainer.saveState(), cpuState);
        const gpuY = await trainer.readWeights();
        const worst = expectWeightsClose(gpuY, cpu.weights(), cpuState, 3);
        // The weights did move (by about lr per step).
        const stem = gpuY.get('stem.weight')!;
        const moved = stem.reduce((m, v, i) => Math.max(m, Math.abs(v - initial.get('stem.weight')![i]!)), 0);
        expect(moved).toBeGreaterThan(LR);
        trainer.eval();
        cpu.eval();
        expect(trainer.mode).toBe('eval');
        const worstX = expectWeightsClose(await trainer.readWeights(), cpu.weights(), cpuState, 3);
        console.log(`3 steps: worst |Δ|/tolerance y ${worst.toFixed(3)}, x ${worstX.toFixed(3)}`);
      } finally {
        trainer.dispose();
        cpu.dispose();
        gpuModel.dispose();
        cpuModel.dispose();
      }
    },
  );
});
