/**
 * f16 storage of the activations kept for the backward pass (`activationStorage: 'f16'`): gradients against the
 * f32 path's on the official config_a model and on a kernel-5 GRN model with deep supervision, and the peak GPU
 * memory of a gradient with f16 storage against f32 and against what must be kept. WebGPU is expected: without an
 * adapter these tests FAIL with the reason, unless the environment declares `MEDNEXT_SKIP_WEBGPU=1`.
 *
 * Tolerance of the gradients: a kept value v is read back as v(1 + δ), |δ| ≤ u = 2⁻¹¹ (f16's unit roundoff;
 * below 2⁻¹⁴ the absolute error is at most 2⁻²⁵). To first order a gradient changes by Σ_k (∂g/∂v_k) v_k δ_k over
 * every rounded value it depends on: its own block's input (the weight gradients are products with it) and every
 * kept value downstream, which shapes the gradient arriving at the block, plus the skips the up blocks add in the
 * forward (read back rounded). Counted with unit Jacobians, that is at most ~20·u for these models (15 to 18 kept
 * values, 4 skips). Fixed before measuring: 16·u of max|f32 gradient| per tensor on config_a (measured 1.8·u).
 * The kernel-5 GRN model measured 24·u, in the deepest encoder stages (down_2, enc_block_3: 16 voxels per
 * GroupNorm group, so the normalisation divides by a standard deviation that is small against the values and
 * amplifies their rounding by |x|/σ): it is held to 64·u (22 rounded values, an amplification of up to 3).
 * conv1 biases (zero in theory) are measured against their block's conv1 weight gradient's scale.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MedNeXt,
  MedNeXtError,
  createWebGpuNetwork,
  loadStateDict,
  walkMedNeXt,
  type MedNeXtConfig,
} from '../src/index.js';
import { acquireGpuDevice, GpuRuntime, type GpuTensor } from '@mednext-ts/tensor3d/webgpu';
import { RecordingEngine, recordBackward } from '../src/network/engines/webgpu/backward.js';
import { gpuValue, type GpuValue } from '../src/network/engines/webgpu/engine.js';
import { GpuWeights } from '../src/network/engines/webgpu/weights.js';
import { FIXTURES, readNpyTensor, readSafetensors, useBackend } from './helpers.js';
import { k5GrnModel } from './helpers/k5-grn-model.js';
import { keptActivationBytes } from './helpers/kept-activations.js';

const SKIP = !!process.env.MEDNEXT_SKIP_WEBGPU;
/** f16's unit roundoff. */
const U16 = 2 ** -11;

function npyData(file: string): Float32Array {
  const t = readNpyTensor(file);
  const data = t.dataSync() as Float32Array;
  t.dispose();
  return data;
}

/** max |a − b| and max |b| of one tensor. */
function maxErrors(actual: Float32Array, expected: Float32Array): { maxDiff: number; maxRef: number } {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
  }
  return { maxDiff, maxRef };
}

/**
 * Checks every f16-storage gradient against the f32 one (max|diff| ≤ tolerance · scale) and returns the
 * largest relative error and its tensor, for the log.
 */
function expectNearF32(
  f16: Map<string, Float32Array>,
  f32: Map<string, Float32Array>,
  tolerance: number,
): { worst: number; at: string } {
  expect([...f16.keys()].sort()).toEqual([...f32.keys()].sort());
  let worst = 0;
  let at = '';
  for (const [name, ref] of f32) {
    const g = f16.get(name)!;
    expect(g.length, name).toBe(ref.length);
    const { maxDiff, maxRef } = maxErrors(g, ref);
    const scale = name.endsWith('conv1.bias')
      ? maxErrors(ref, f32.get(name.replace('bias', 'weight'))!).maxRef
      : maxRef;
    // A gradient that is exactly zero in f32 (a block whose normalised input is constant) must stay zero.
    const rel = scale > 0 ? maxDiff / scale : maxDiff;
    expect(rel, `${name}: max diff ${maxDiff} vs scale ${scale}`).toBeLessThanOrEqual(tolerance);
    if (rel > worst) [worst, at] = [rel, name];
  }
  return { worst, at };
}

describe.skipIf(SKIP)('WebGPU engine: f16 storage of the activations kept for the backward pass', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it(
    'config_a (official fixture, BCE on the main output): f16 gradients within 16·2⁻¹¹ of f32',
    { timeout: 600_000 },
    async () => {
      const dir = path.join(FIXTURES, 'config_a');
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as MedNeXtConfig;
      const model = MedNeXt.create(config, { seed: 7 });
      loadStateDict(model, readSafetensors(path.join(dir, 'weights.safetensors')).tensors);
      const f32 = await createWebGpuNetwork(model);
      const f16 = await createWebGpuNetwork(model, { activationStorage: 'f16' });
      try {
        const x = npyData(path.join(dir, 'input.npy'));
        const target = npyData(path.join(dir, 'train_target.npy'));
        const bce = ([logits]: Float32Array[]): Float32Array[] => [
          logits.map((z, i) => (1 / (1 + Math.exp(-z)) - target[i]) / logits.length),
        ];
        const a = await f32.valueAndGrads(x, [32, 32, 32], bce, { deepSupervision: false });
        const b = await f16.valueAndGrads(x, [32, 32, 32], bce, { deepSupervision: false });
        // The forward reads the skips back from f16: the logits move by about u of their scale, not more.
        const logits = maxErrors(b.outputs[0], a.outputs[0]);
        expect(logits.maxDiff).toBeGreaterThan(0);
        expect(logits.maxDiff).toBeLessThanOrEqual(16 * U16 * logits.maxRef);
        const { worst, at } = expectNearF32(b.grads, a.grads, 16 * U16);
        // Not trivially equal: rounding to f16 did change the gradients.
        expect(worst).toBeGreaterThan(U16 / 64);
        console.log(
          `config_a: f16 storage vs f32, largest max|diff|/max|f32| ${worst.toExponential(2)} (${at}), ` +
            `logits ${(logits.maxDiff / logits.maxRef).toExponential(2)}`,
        );
      } finally {
        f32.dispose();
        f16.dispose();
        model.dispose();
      }
    },
  );

  it(
    'kernel 5, GRN, 16x32x16, deep supervision: f16 gradients within 64·2⁻¹¹ of f32',
    { timeout: 600_000 },
    async () => {
      const model = k5GrnModel();
      const spatial: [number, number, number] = [16, 32, 16];
      const x = tf.randomNormal([1, 2, ...spatial], 0, 1, 'float32', 5);
      const xData = x.dataSync() as Float32Array;
      // L = Σ_heads Σ w_h · out_h with fixed random w_h: dL/dout_h = w_h.
      const w = [0, 1, 2, 3, 4].map((level) => {
        const t = tf.randomNormal(
          [(2 * (spatial[0] * spatial[1] * spatial[2])) / 8 ** level],
          0,
          1,
          'float32',
          20 + level,
        );
        const data = t.dataSync() as Float32Array;
        t.dispose();
        return data;
      });
      const f32 = await createWebGpuNetwork(model);
      const f16 = await createWebGpuNetwork(model, { activationStorage: 'f16' });
      try {
        const a = await f32.valueAndGrads(xData, spatial, () => w);
        const b = await f16.valueAndGrads(xData, spatial, () => w);
        expect(b.outputs.length).toBe(5);
        const { worst, at } = expectNearF32(b.grads, a.grads, 64 * U16);
        expect(worst).toBeGreaterThan(U16 / 64);
        console.log(`k5 GRN DS: f16 storage vs f32, largest max|diff|/max|f32| ${worst.toExponential(2)} (${at})`);
      } finally {
        f32.dispose();
        f16.dispose();
        x.dispose();
        model.dispose();
      }
    },
  );

  it(
    'peak GPU bytes of a gradient: f16 storage below f32, f32 against what must be kept',
    { timeout: 600_000 },
    async () => {
      // Kept activations weigh most at full resolution: a narrow network (width 4, expansion 2) with eight blocks in
      // the first encoder and last decoder stage, on a 32x32x32 patch. Measured (llvmpipe, 2026-12-07; the
      // allocation sequence does not depend on the adapter): beyond the weights (432264 bytes) f32 25824152, f16
      // 20940856 bytes (0.811); kept values 10475520 bytes in f32 (20.0 full-resolution 4-channel tensors), the
      // rest 29.3 such tensors.
      const config: MedNeXtConfig = {
        in_channels: 2,
        n_channels: 4,
        n_classes: 2,
        exp_r: 2,
        kernel_size: 3,
        deep_supervision: false,
        do_res: true,
        do_res_up_down: true,
        block_counts: [8, 2, 2, 2, 2, 2, 2, 2, 8],
      } as MedNeXtConfig;
      const spatial: [number, number, number] = [32, 32, 32];
      const V = 32 ** 3;
      const model = MedNeXt.create(config, { seed: 3 });
      const x = Float32Array.from({ length: 2 * V }, (_, i) => Math.sin(i * 0.37));
      const peaks: Record<string, { weights: number; step: number }> = {};
      try {
        for (const storage of ['f32', 'f16'] as const) {
          const net = await createWebGpuNetwork(model, { activationStorage: storage });
          try {
            const weights = net.peakBytes();
            await net.valueAndGrads(x, spatial, ([z]) => [z.map((v) => Math.tanh(v) / z.length)]);
            peaks[storage] = { weights, step: net.peakBytes() - weights };
          } finally {
            net.dispose();
          }
        }
        const kept = keptActivationBytes(model, 2, spatial);
        const input = 2 * V * 4;
        console.log(
          `peak GPU bytes of one gradient at 32x32x32 beyond the weights (${peaks.f32.weights}): ` +
            `f32 ${peaks.f32.step}, f16 ${peaks.f16.step} (${(peaks.f16.step / peaks.f32.step).toFixed(3)}); ` +
            `kept values in f32 ${kept}`,
        );
        expect(peaks.f16.weights).toBe(peaks.f32.weights);
        expect(peaks.f16.step / peaks.f32.step).toBeLessThanOrEqual(0.83);
        // f16 storage saves half of every kept value, less the one value unpacked at a time (and pool rounding).
        expect(peaks.f32.step - peaks.f16.step).toBeGreaterThanOrEqual(0.85 * (kept / 2));
        // Beyond what is kept (and the input), only the transients of one block's backward are allocated. The largest
        // is the last up block's, at full resolution: the bottleneck backward's 2·E·V + C·V floats (E = 16 expanded
        // channels of its C = 8 input channels), its recomputed conv1 output and that output's gradient (2·C·V), and
        // three 4-channel gradients in flight (its output's, its skip's, its upsampled branch's): 68·V floats. Twice
        // that covers the same transients one level down and below (a geometric 4/3) and the runtime's pool, which
        // reuses buffers of equal size only.
        expect(peaks.f32.step).toBeGreaterThan(kept + input);
        expect(peaks.f32.step - kept - input).toBeLessThanOrEqual(2 * 68 * V * 4);
      } finally {
        model.dispose();
      }
    },
  );

  it(
    'the record: values held as halves once the forward is done with them, one step unpacked at a time',
    { timeout: 300_000 },
    async () => {
      const model = MedNeXt.create(
        {
          in_channels: 2,
          n_channels: 4,
          n_classes: 2,
          exp_r: 2,
          kernel_size: 3,
          deep_supervision: true,
          block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
        } as MedNeXtConfig,
        { seed: 3 },
      );
      const { device } = await acquireGpuDevice();
      const rt = new GpuRuntime(device);
      const weights = await GpuWeights.upload(rt, model);
      const arch = model.architecture;
      const spatial: [number, number, number] = [16, 16, 16];
      const x = Float32Array.from({ length: 2 * 16 ** 3 }, (_, i) => Math.cos(i * 0.11));
      /** Runs the recorded forward and backward with `storage`; returns what the hooks saw and the gradients. */
      const run = async (storage: 'f32' | 'f16') => {
        const recorder = new RecordingEngine(rt, weights, arch, { activationStorage: storage });
        const input = gpuValue([rt.upload(x, 'input')], 2, spatial);
        const heads = walkMedNeXt(arch, recorder, input, { deepSupervision: true });
        const logits = await rt.finish(heads.map((h) => h.tensor));
        // After the forward every kept value is readable in f32, or (f16) held as halves only.
        const readable = recorder.steps
          .filter((s) => s.op !== 'stem')
          .map((s) => {
            try {
              return s.x.tensor.length > 0;
            } catch (e) {
              expect((e as Error).message).toMatch(/is held as f16 and was read without being unpacked/);
              return false;
            }
          });
        const gradHeads = new Map<number, GpuTensor>(
          logits.map((l, level) => [level, rt.upload(l.map(Math.tanh), `d${level}`)]),
        );
        let unpacked = 0;
        let mostUnpacked = 0;
        const isUnpacked = (v: GpuValue): boolean => {
          try {
            return v.tensor.length > 0;
          } catch {
            return false;
          }
        };
        const named = recordBackward(rt, weights, arch, recorder.steps, gradHeads, {
          free: (v) => recorder.free(v),
          unpack: (v) => {
            const before = isUnpacked(v);
            recorder.unpack(v);
            if (!before && isUnpacked(v)) mostUnpacked = Math.max(mostUnpacked, ++unpacked);
          },
          dropUnpacked: (v) => {
            const before = isUnpacked(v);
            recorder.dropUnpacked(v);
            if (before && !isUnpacked(v)) unpacked--;
          },
        });
        // The backward freed every kept value: reading one now is an error, never a stale buffer.
        const freed = recorder.steps.filter((st) => st.op !== 'stem').map((st) => st.x);
        for (const v of freed) expect(() => v.tensor).toThrow(/was read after it was freed/);
        const data = await rt.finish(named.map((n) => n.tensor));
        const grads = new Map<string, Float32Array>();
        named.forEach((n, i) => n.emit(data[i], grads));
        for (const t of [...named.map((n) => n.tensor), ...gradHeads.values(), input.tensor]) rt.release(t);
        for (const h of heads) rt.release(h.tensor);
        recorder.dispose();
        return { readable, mostUnpacked, unpackedAtEnd: unpacked, grads };
      };
      try {
        const f32 = await run('f32');
        expect(f32.readable.every(Boolean)).toBe(true);
        expect(f32.mostUnpacked).toBe(0);
        const f16 = await run('f16');
        expect(f16.readable.length).toBeGreaterThan(20);
        expect(f16.readable.some(Boolean)).toBe(false);
        expect(f16.mostUnpacked).toBe(1);
        expect(f16.unpackedAtEnd).toBe(0);
        expect(expectNearF32(f16.grads, f32.grads, 16 * U16).worst).toBeGreaterThan(0);
      } finally {
        weights.dispose();
        rt.dispose();
        model.dispose();
      }
    },
  );

  it('options: f16 is named as the new option; an unknown storage is refused', async () => {
    const model = MedNeXt.create(
      {
        in_channels: 2,
        n_channels: 4,
        n_classes: 2,
        exp_r: 2,
        kernel_size: 3,
        block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
      },
      { seed: 3 },
    );
    try {
      const f16 = await createWebGpuNetwork(model, { f16: true }).catch((e: unknown) => e);
      expect(f16).toBeInstanceOf(MedNeXtError);
      expect((f16 as Error).message).toMatch(/no `f16` option.*activationStorage: 'f16'/);
      await expect(createWebGpuNetwork(model, { activationStorage: 'bf16' as 'f16' })).rejects.toThrow(
        /activationStorage must be 'f32' or 'f16', got bf16/,
      );
    } finally {
      model.dispose();
    }
  });
});
