/// <reference types="@webgpu/types" />
/*
 * The WGSL Schedule-Free updates against the tfjs optimizers (same gradients, several steps) and
 * against the official float64 fixtures, on Dawn (llvmpipe here; any adapter elsewhere).
 *
 * Tolerance against tfjs-cpu. Both sides hold y, z and v in float32 and take every scalar from the
 * same float64 host code, rounded once to float32. tfjs-cpu evaluates each element-wise op in
 * float64 and rounds the result to float32, which is the correctly rounded float32 result; the
 * kernel performs the same ops in the same order in float32. So the two agree bit for bit where the
 * shader compiler neither contracts `a·b + c` into a fused multiply-add nor uses an approximate
 * division or square root (WGSL allows both: 2.5 ulp for `/`, and `sqrt` inherited from
 * inverseSqrt). Each of the ~10 ops per element and step may then differ by a few ulp, and the
 * differences are carried, not amplified, from step to step (the update is a contraction in y and
 * z up to the lr-scaled normalised step, whose sensitivity to v is ½·|u|·δv/v). Over the 12 steps
 * here that bounds the difference by about 12 · 10 · 3 ulp ≈ 2e-5 relative; we allow rtol 2e-5
 * plus atol 1e-7 for entries that cancel to near zero. On Dawn/llvmpipe every value is
 * bit-identical (the worst ratio is printed after the tests).
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AdamWScheduleFree, SGDScheduleFree, type ScheduleFreeOptimizer } from '../src/index.js';
import {
  acquireGpuDevice,
  bindingSlices,
  collectDeviceErrors,
  readBuffer,
  storageBuffer as upload,
} from '@mednext-ts/tensor3d/webgpu';
import {
  WebGPUAdamWScheduleFree,
  WebGPUSGDScheduleFree,
  type WebGPUScheduleFreeOptimizer,
} from '../src/webgpu/index.js';
import { adamwOptions, FIXTURE_NAMES, flat, loadFixture, worstRatio, type Tolerance } from './helpers.js';

/** WebGPU is expected (Dawn on llvmpipe needs no GPU): no adapter fails, unless MEDNEXT_SKIP_WEBGPU declares none. */
const SKIP_WEBGPU = Boolean(process.env.MEDNEXT_SKIP_WEBGPU);

const VS_TFJS: Tolerance = { atol: 1e-7, rtol: 2e-5 };
// Same bounds as the tfjs fixture replay (fixture-replay.test.ts explains them).
const VS_FIXTURE = { params: { atol: 1e-6, rtol: 1e-5 }, expAvgSq: { atol: 0, rtol: 1e-5 } };

/** Deterministic pseudo-random values in [-scale, scale). */
function values(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** Odd sizes, one below and one above the 256-element slice used when the binding cap is 1 KiB. */
const SHAPES: Record<string, number[]> = { conv: [7, 13], bias: [1], block: [3, 5, 11], big: [1031] };
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

describe.skipIf(SKIP_WEBGPU)('WebGPU Schedule-Free updates on Dawn', () => {
  let device: GPUDevice;
  let errors: string[];
  let worstMeasured = 0;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    ({ device } = await acquireGpuDevice());
    errors = collectDeviceErrors(device);
  });

  afterAll(() => {
    // The measured agreement with tfjs (0: bit-identical everywhere), for the record.
    console.log(`WebGPU vs tfjs-cpu: worst |diff|/(atol+rtol|cpu|) = ${worstMeasured.toExponential(2)}`);
    expect(errors, 'WebGPU validation errors').toEqual([]);
    device?.destroy();
  });

  function checkClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): void {
    const ratio = worstRatio(actual, Array.from(expected), tol);
    worstMeasured = Math.max(worstMeasured, ratio);
    expect(ratio, `${label}: worst |gpu−cpu|/(atol+rtol·|cpu|)`).toBeLessThanOrEqual(1);
  }

  async function expectClose(label: string, gpu: GPUBuffer, cpu: ArrayLike<number>, tol: Tolerance): Promise<void> {
    checkClose(label, await readBuffer(device, gpu, cpu.length), cpu, tol);
  }

  /**
   * Runs the tfjs and the GPU optimizer side by side on the same gradients: 12 steps, "late" gets
   * no gradient before step 4, a train()/eval()/train() round trip after step 6, lr halved from
   * step 9, and every step's y, z and v compared.
   */
  async function sideBySide(
    makeCpu: () => ScheduleFreeOptimizer & { lr: number },
    makeGpu: (
      params: Array<{ name: string; buffer: GPUBuffer; shape: number[] }>,
    ) => WebGPUScheduleFreeOptimizer & { lr: number },
    tag: string,
  ): Promise<void> {
    const shapes: Record<string, number[]> = { ...SHAPES, late: [5, 3] };
    const names = Object.keys(shapes);
    const init = Object.fromEntries(names.map((n, i) => [n, values(size(shapes[n]!), 11 + i, 0.5)]));
    const cpuVars = Object.fromEntries(
      names.map((n) => [n, tf.variable(tf.tensor(init[n]!, shapes[n]!), true, `${tag}/${n}`)]),
    );
    const gpuBuffers = Object.fromEntries(names.map((n) => [n, upload(device, init[n]!)]));
    const cpu = makeCpu();
    const gpu = makeGpu(names.map((n) => ({ name: n, buffer: gpuBuffers[n]!, shape: shapes[n]! })));
    cpu.train();
    gpu.train();
    for (let step = 1; step <= 12; step++) {
      if (step === 9) {
        // A lower lr from step 9 (an external schedule): lr_max, and so the averaging weights, stay.
        cpu.lr /= 2;
        gpu.lr /= 2;
      }
      const active = names.filter((n) => n !== 'late' || step >= 4);
      const grads = Object.fromEntries(active.map((n, i) => [n, values(size(shapes[n]!), 1000 * step + i)]));
      cpu.applyGradients(active.map((n) => ({ name: `${tag}/${n}`, tensor: tf.tensor(grads[n]!, shapes[n]!) })));
      const gradBuffers = Object.fromEntries(active.map((n) => [n, upload(device, grads[n]!)]));
      gpu.step(gradBuffers);
      expect(gpu.groupState).toEqual(cpu.groupState);
      for (const n of names) {
        await expectClose(`${tag} step ${step} y.${n}`, gpuBuffers[n]!, await cpuVars[n]!.data(), VS_TFJS);
      }
      const [cpuState, gpuState] = [await cpu.saveState(), await gpu.saveState()];
      expect(gpuState.params.map((p) => p.name)).toEqual(cpuState.params.map((p) => p.name.slice(tag.length + 1)));
      cpuState.params.forEach((p, i) => {
        for (const [slot, data] of Object.entries(p.slots)) {
          checkClose(`${tag} step ${step} ${slot}.${p.name}`, gpuState.params[i]!.slots[slot]!, data, VS_TFJS);
        }
      });
      for (const b of Object.values(gradBuffers)) b.destroy();
      if (step === 6) {
        cpu.eval();
        gpu.eval();
        expect(gpu.mode).toBe('eval');
        for (const n of names) {
          await expectClose(`${tag} x.${n} after eval()`, gpuBuffers[n]!, await cpuVars[n]!.data(), VS_TFJS);
        }
        cpu.train();
        gpu.train();
      }
    }
    cpu.eval();
    gpu.eval();
    for (const n of names) await expectClose(`${tag} final x.${n}`, gpuBuffers[n]!, await cpuVars[n]!.data(), VS_TFJS);
    cpu.dispose();
    gpu.dispose();
    tf.dispose(Object.values(cpuVars));
    for (const b of Object.values(gpuBuffers)) b.destroy();
  }

  const adamw = { lr: 0.01, betas: [0.9, 0.999] as [number, number], warmupSteps: 4, weightDecay: 0.01 };
  const sgd = { lr: 0.05, momentum: 0.9, warmupSteps: 4, weightDecay: 0.01 };

  for (const [label, maxBindingBytes] of [
    ['whole bindings', undefined],
    ['1 KiB bindings (sliced)', 1024],
  ] as const) {
    it(`AdamW matches AdamWScheduleFree step by step (warmup, weight decay, late gradient, eval/train; ${label})`, async () => {
      await sideBySide(
        () => new AdamWScheduleFree(adamw),
        (params) => new WebGPUAdamWScheduleFree(device, params, adamw, { maxBindingBytes }),
        `adamw-${maxBindingBytes ?? 'whole'}`,
      );
    });

    it(`SGD matches SGDScheduleFree step by step (${label})`, async () => {
      await sideBySide(
        () => new SGDScheduleFree(sgd),
        (params) => new WebGPUSGDScheduleFree(device, params, sgd, { maxBindingBytes }),
        `sgd-${maxBindingBytes ?? 'whole'}`,
      );
    });
  }

  for (const name of FIXTURE_NAMES) {
    it(`replays the official fixture ${name}`, async () => {
      const fx = loadFixture(name);
      const buffers = Object.fromEntries(
        fx.model.param_order.map((n) => [n, upload(device, flat(fx.initial_params[n]!))]),
      );
      const opt = new WebGPUAdamWScheduleFree(
        device,
        fx.model.param_order.map((n) => ({ name: n, buffer: buffers[n]!, shape: fx.model.param_shapes[n]! })),
        adamwOptions(fx),
      );
      opt.train();
      for (const rec of fx.trajectory) {
        const grads = Object.fromEntries(
          fx.model.param_order.map((n) => [n, rec.grads[n] == null ? null : upload(device, flat(rec.grads[n]!))]),
        );
        opt.step(grads);
        expect(opt.groupState.weightSum).toBe(rec.weight_sum);
        expect(opt.groupState.ckp1).toBe(rec.ckp1);
        for (const b of Object.values(grads)) b?.destroy();
        const snap = fx.snapshots.find((s) => s.step === rec.step);
        if (!snap) continue;
        const state = await opt.saveState();
        for (const n of fx.model.param_order) {
          const y = await readBuffer(device, buffers[n]!, flat(snap.params_train_y[n]!).length);
          expect(
            worstRatio(y, flat(snap.params_train_y[n]!), VS_FIXTURE.params),
            `${name}@${rec.step} y.${n}`,
          ).toBeLessThanOrEqual(1);
          const ref = snap.state.per_param[n];
          const mine = state.params.find((p) => p.name === n);
          if (ref == null) {
            expect(mine, `${name}@${rec.step}: ${n} has no state yet`).toBeUndefined();
            continue;
          }
          expect(
            worstRatio(mine!.slots.z!, flat(ref.z), VS_FIXTURE.params),
            `${name}@${rec.step} z.${n}`,
          ).toBeLessThanOrEqual(1);
          expect(
            worstRatio(mine!.slots.exp_avg_sq!, flat(ref.exp_avg_sq), VS_FIXTURE.expAvgSq),
            `${name}@${rec.step} v.${n}`,
          ).toBeLessThanOrEqual(1);
        }
        opt.eval();
        for (const n of fx.model.param_order) {
          const x = await readBuffer(device, buffers[n]!, flat(snap.params_eval_x[n]!).length);
          expect(
            worstRatio(x, flat(snap.params_eval_x[n]!), VS_FIXTURE.params),
            `${name}@${rec.step} x.${n}`,
          ).toBeLessThanOrEqual(1);
        }
        opt.train(); // the float32 round trip moves y by a few ulp, well inside the tolerance
      }
      expect(opt.groupState.k).toBe(fx.n_steps);
      opt.dispose();
      for (const b of Object.values(buffers)) b.destroy();
    });
  }

  it('resumes from a tfjs optimizer state and from its own', async () => {
    const shape = [3, 7];
    const init = values(21, 5, 0.5);
    const cpuVar = tf.variable(tf.tensor(init, shape), true, 'resume/w');
    const cpu = new AdamWScheduleFree(adamw);
    cpu.train();
    for (let s = 1; s <= 3; s++)
      cpu.applyGradients([{ name: 'resume/w', tensor: tf.tensor(values(21, 70 + s), shape) }]);
    const state = await cpu.saveState();
    state.params[0]!.name = 'w';
    const wBuffer = upload(device, await cpuVar.data());
    const gpu = new WebGPUAdamWScheduleFree(device, [{ name: 'w', buffer: wBuffer, shape }], adamw);
    gpu.loadState(state);
    expect(gpu.mode).toBe('train');
    expect(await gpu.saveState()).toEqual(state);
    const g = values(21, 99);
    cpu.applyGradients([{ name: 'resume/w', tensor: tf.tensor(g, shape) }]);
    gpu.step({ w: upload(device, g) });
    await expectClose('resumed y', wBuffer, await cpuVar.data(), VS_TFJS);
    expect(() => gpu.loadState({ ...state, params: [{ ...state.params[0]!, name: 'other' }] })).toThrow(
      /"other", which is not a parameter here/,
    );
    cpu.dispose();
    gpu.dispose();
    cpuVar.dispose();
    wBuffer.destroy();
  });

  it('splits large tensors into aligned binding slices', () => {
    const align = device.limits.minStorageBufferOffsetAlignment / 4; // floats
    const perSlice = Math.floor(1024 / 4 / align) * align;
    const slices = bindingSlices(device, 1031, 1024);
    expect(slices.length).toBe(Math.ceil(1031 / perSlice));
    expect(slices.every((s) => s.offset % align === 0 && s.count <= 256)).toBe(true);
    expect(slices.reduce((n, s) => (s.offset === n ? n + s.count : NaN), 0)).toBe(1031);
    expect(bindingSlices(device, 10)).toEqual([{ offset: 0, count: 10 }]);
    expect(bindingSlices(device, 0)).toEqual([]);
    expect(() => bindingSlices(device, 10, 100)).toThrow(/below the offset alignment/);
  });

  it('rejects bad calls with errors that name the problem', () => {
    const w = upload(device, values(10, 1));
    const opt = new WebGPUAdamWScheduleFree(device, [{ name: 'w', buffer: w, shape: [10] }]);
    expect(() => opt.step({ w })).toThrow(/a step was taken in eval mode/);
    opt.train();
    expect(() => opt.step({ w: upload(device, [1, 2, 3]) })).toThrow(
      /gradient for "w" holds 12 bytes, shape \[10\] needs 40/,
    );
    expect(() => opt.step({ v: w })).toThrow(/"v", which is not a parameter/);
    expect(() => opt.step({ w })).toThrow(/the gradient of "w" is its parameter buffer/);
    expect(opt.groupState.k).toBe(0); // nothing advanced by the rejected calls
    expect(() => new WebGPUAdamWScheduleFree(device, [{ name: 'w', buffer: w, shape: [11] }])).toThrow(
      /needs 44 bytes, its buffer has 40/,
    );
    expect(
      () => new WebGPUAdamWScheduleFree(device, [{ name: 'w', buffer: w, shape: [10] }], { betas: [0, 0.9] }),
    ).toThrow(/betas\[0\]/);
    opt.dispose();
    w.destroy();
  });
});
