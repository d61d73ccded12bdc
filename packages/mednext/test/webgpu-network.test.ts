/**
 * The WebGPU engine (createWebGpuNetwork) against the official fixtures, on whatever adapter the machine has
 * (Dawn's OpenGL ES backend on Mesa llvmpipe here). Same tolerance as the CPU fixture tests:
 * |a − b| ≤ 1e-4 + 1e-4·|b|. WebGPU is expected: without an adapter these tests FAIL with the reason, unless
 * the environment declares `MEDNEXT_SKIP_WEBGPU=1`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { acquireGpuDevice, GpuRuntime, packBottleneckVectors, type GpuTensor } from '@mednext-ts/tensor3d/webgpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { MedNeXt, createWebGpuNetwork, loadStateDict, toNcdhw, toNdhwc, type MedNeXtConfig } from '../src/index.js';
import { WebGpuEngine, gpuValue } from '../src/network/engines/webgpu/engine.js';
import { allocateValue, regroup, releaseValue } from '../src/network/engines/webgpu/values.js';
import { FIXTURES, closeness, readNpyTensor, readSafetensors, useBackend } from './helpers.js';

const ATOL = 1e-4;
const RTOL = 1e-4;
const SKIP = !!process.env.MEDNEXT_SKIP_WEBGPU;

function fixtureModel(dir: string): MedNeXt {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as MedNeXtConfig;
  const model = MedNeXt.create(config, { seed: 7 });
  loadStateDict(model, readSafetensors(path.join(dir, 'weights.safetensors')).tensors);
  return model;
}

function npy(file: string): { data: Float32Array; shape: number[] } {
  const t = readNpyTensor(file);
  const out = { data: t.dataSync() as Float32Array, shape: t.shape };
  t.dispose();
  return out;
}

function expectWithin(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const { ratio, maxAbs } = closeness(actual, expected, ATOL, RTOL);
  expect(ratio, `${what}: max abs diff ${maxAbs}`).toBeLessThanOrEqual(1);
}

/**
 * A k5 MedNeXt with GRN, per-stage exp_r, no residuals and deep supervision, and a non-cubic 16x32x16 input.
 * GRN gamma/beta start at zero (GRN = identity); they get values so the GRN path is exercised.
 */
function k5GrnModel(): { model: MedNeXt; spatial: [number, number, number]; xs: tf.Tensor5D } {
  const config: MedNeXtConfig = {
    in_channels: 3,
    n_channels: 4,
    n_classes: 2,
    exp_r: [2, 3, 2, 2, 2, 2, 2, 3, 2],
    kernel_size: 5,
    deep_supervision: true,
    do_res: false,
    do_res_up_down: false,
    block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
    grn: true,
  };
  const model = MedNeXt.create(config, { seed: 11 });
  for (const [name, v] of model.params) {
    if (name.includes('grn_')) v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', name.length));
  }
  const spatial: [number, number, number] = [16, 32, 16];
  const xs = tf.randomNormal([1, 3, ...spatial], 0, 1, 'float32', 5) as tf.Tensor5D;
  return { model, spatial, xs };
}

describe.skipIf(SKIP)('MedNeXt on the WebGPU engine against the official fixtures', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('config_a: main and the 4 deep-supervision outputs', { timeout: 240_000 }, async () => {
    const dir = path.join(FIXTURES, 'config_a');
    const model = fixtureModel(dir);
    const net = await createWebGpuNetwork(model);
    try {
      const x = npy(path.join(dir, 'input.npy'));
      const outs = await net.forward(x.data, [32, 32, 32]);
      const names = ['output_main', 'output_ds1', 'output_ds2', 'output_ds3', 'output_ds4'];
      expect(outs.length).toBe(5);
      names.forEach((name, i) => expectWithin(outs[i], npy(path.join(dir, `${name}.npy`)).data, name));
      // A second forward reuses pooled buffers and cached pipelines: same values, no new allocations.
      const peak = net.peakBytes();
      const again = await net.forward(x.data, [32, 32, 32], { deepSupervision: false });
      expect(again.length).toBe(1);
      expect(Array.from(again[0])).toEqual(Array.from(outs[0]));
      expect(net.peakBytes()).toBe(peak);
      expect(peak).toBeGreaterThan(model.parameterCount() * 4);
      expect(net.adapter.description.length).toBeGreaterThan(0);
      expect(net.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    } finally {
      net.dispose();
      model.dispose();
    }
  });

  it('config_b (exp_r list, 2 blocks per stage)', { timeout: 240_000 }, async () => {
    const dir = path.join(FIXTURES, 'config_b');
    const model = fixtureModel(dir);
    const net = await createWebGpuNetwork(model);
    try {
      const [out] = await net.forward(npy(path.join(dir, 'input.npy')).data, [32, 32, 32]);
      expectWithin(out, npy(path.join(dir, 'output_main.npy')).data, 'config_b output_main');
    } finally {
      net.dispose();
      model.dispose();
    }
  });

  it('the GRN block fixture through the engine', { timeout: 240_000 }, async () => {
    const sd = readSafetensors(path.join(FIXTURES, 'extras', 'grn_block_weights.safetensors')).tensors;
    const { device } = await acquireGpuDevice();
    const rt = new GpuRuntime(device);
    try {
      const uploaded = new Map<string, GpuTensor>();
      const array = (name: string): Float32Array => Float32Array.from(sd.get(name)!.data);
      for (const name of sd.keys()) uploaded.set(name, rt.upload(array(name), name));
      const vectors = packBottleneckVectors({
        gamma: array('norm.weight'),
        beta: array('norm.bias'),
        b2: array('conv2.bias'),
        b3: array('conv3.bias'),
      });
      uploaded.set('vectors', rt.upload(vectors, 'vectors'));
      // Fixture keys have no block prefix; the engine asks for `${block.name}.conv1.weight` with an empty name.
      const weights = {
        get: (name: string): GpuTensor => {
          const t = uploaded.get(name.replace(/^\./, ''));
          if (!t) throw new Error(`fixture lacks ${name}`);
          return t;
        },
      };
      const model = MedNeXt.create({ in_channels: 6, n_channels: 6, n_classes: 1, kernel_size: 3 });
      const engine = new WebGpuEngine(rt, weights, model.architecture);
      model.dispose();
      const x = npy(path.join(FIXTURES, 'extras', 'grn_block_input.npy'));
      expect(x.shape).toEqual([1, 6, 12, 10, 8]);
      const input = gpuValue([rt.upload(x.data, 'x')], 6, [12, 10, 8]);
      const spec = { name: '', kind: 'block' as const, cIn: 6, cOut: 6, expR: 3, kernel: 3, residual: true, grn: true };
      const out = engine.block(input, spec);
      expectWithin(
        await rt.read(out.tensor),
        npy(path.join(FIXTURES, 'extras', 'grn_block_output.npy')).data,
        'GRN block',
      );
    } finally {
      rt.dispose();
      device.destroy();
    }
  });

  it(
    'k5, GRN, per-stage exp_r, no residuals, non-cubic input: equals the tfjs forward',
    { timeout: 240_000 },
    async () => {
      const { model, spatial, xs } = k5GrnModel();
      const reference = tf.tidy(() => model.forward(toNdhwc(xs), { deepSupervision: true }).map((o) => toNcdhw(o)));
      const net = await createWebGpuNetwork(model);
      try {
        const outs = await net.forward(xs.dataSync() as Float32Array, spatial, { deepSupervision: true });
        expect(outs.length).toBe(5);
        outs.forEach((o, i) => expectWithin(o, reference[i].dataSync() as Float32Array, `out_${i}`));
      } finally {
        net.dispose();
        tf.dispose([xs, ...reference]);
        model.dispose();
      }
    },
  );

  it('rejects bad input with clear errors', { timeout: 240_000 }, async () => {
    const model = MedNeXt.create({
      in_channels: 2,
      n_channels: 2,
      n_classes: 1,
      kernel_size: 3,
      block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
    });
    const net = await createWebGpuNetwork(model);
    try {
      await expect(net.forward(new Float32Array(2 * 16 * 16 * 24), [16, 16, 24])).rejects.toThrow(
        /multiple of 16.*16x16x24/,
      );
      await expect(net.forward(new Float32Array(10), [16, 16, 16])).rejects.toThrow(
        /input has 10 values, expected 2x16x16x16/,
      );
      await expect(net.forward(new Float32Array(2 * 16 ** 3), [16, 16, 16], { deepSupervision: true })).rejects.toThrow(
        /without the DS heads/,
      );
      // Still usable after the errors.
      const [out] = await net.forward(new Float32Array(2 * 16 ** 3).fill(0.5), [16, 16, 16]);
      expect(out.length).toBe(16 ** 3);
      expect(out.every(Number.isFinite)).toBe(true);
      await expect(createWebGpuNetwork(model, { f16: true })).rejects.toThrow(/no `f16` option.*activationStorage/);
    } finally {
      net.dispose();
      model.dispose();
    }
  });
});

/** max |a − b| ≤ tol (the split and the fused path run the same f32 arithmetic up to summation order). */
function expectNear(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let diff = 0;
  for (let i = 0; i < actual.length; i++) diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
  expect(diff, `${what}: max |diff| ${diff}`).toBeLessThanOrEqual(tol);
}

const pathsOf = (net: { lastBlockPaths(): ReadonlyArray<{ path: string }> }): string[] =>
  net.lastBlockPaths().map((p) => p.path);

describe.skipIf(SKIP)('tensors larger than one storage binding run as channel groups', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it(
    'config_a under a 256 KiB binding limit: fixtures, the unsplit forward, the split path ran',
    { timeout: 240_000 },
    async () => {
      const dir = path.join(FIXTURES, 'config_a');
      const model = fixtureModel(dir);
      // 32^3 voxels are 128 KiB per channel: level-0 tensors (4 channels and more) must split into pairs of channels.
      const split = await createWebGpuNetwork(model, { maxBindingBytes: 256 * 1024 });
      const whole = await createWebGpuNetwork(model);
      try {
        const x = npy(path.join(dir, 'input.npy'));
        const outs = await split.forward(x.data, [32, 32, 32]);
        const names = ['output_main', 'output_ds1', 'output_ds2', 'output_ds3', 'output_ds4'];
        expect(outs.length).toBe(5);
        names.forEach((name, i) => expectWithin(outs[i], npy(path.join(dir, `${name}.npy`)).data, `split ${name}`));
        const reference = await whole.forward(x.data, [32, 32, 32]);
        outs.forEach((o, i) => expectNear(o, reference[i], 1e-5, `split vs unsplit ${names[i]}`));
        // Level-0 blocks (encoder, up, decoder) take the split path; down_0 (its output is at 16^3) and deeper stay fused.
        const paths = split.lastBlockPaths();
        expect(paths.length).toBe(17); // 9 stages, 4 down and 4 up blocks
        const splitBlocks = paths.filter((p) => p.path === 'split').map((p) => p.block);
        expect(splitBlocks).toEqual(['enc_block_0.0', 'up_0', 'dec_block_0.0']);
        expect(pathsOf(whole).every((p) => p === 'fused')).toBe(true);
        expect(pathsOf(whole).length).toBe(17);
        // Probabilities through the grouped sigmoid.
        const [p] = await split.forward(x.data, [32, 32, 32], { sigmoid: true, deepSupervision: false });
        expectNear(
          p,
          reference[0].map((v) => 1 / (1 + Math.exp(-v))),
          1e-6,
          'split sigmoid',
        );
      } finally {
        split.dispose();
        whole.dispose();
        model.dispose();
      }
    },
  );

  it(
    'config_b under a 256 KiB binding limit (its largest weight, 512x128, just fits)',
    { timeout: 240_000 },
    async () => {
      const dir = path.join(FIXTURES, 'config_b');
      const model = fixtureModel(dir);
      const net = await createWebGpuNetwork(model, { maxBindingBytes: 256 * 1024 });
      try {
        const [out] = await net.forward(npy(path.join(dir, 'input.npy')).data, [32, 32, 32]);
        expectWithin(out, npy(path.join(dir, 'output_main.npy')).data, 'config_b split output_main');
        expect(pathsOf(net).filter((p) => p === 'split').length).toBeGreaterThan(0);
      } finally {
        net.dispose();
        model.dispose();
      }
    },
  );

  it(
    'k5, GRN, no residuals, non-cubic input under a 64 KiB limit equals the unsplit forward',
    { timeout: 240_000 },
    async () => {
      const { model, spatial, xs } = k5GrnModel();
      const split = await createWebGpuNetwork(model, { maxBindingBytes: 64 * 1024 });
      const whole = await createWebGpuNetwork(model);
      try {
        const x = xs.dataSync() as Float32Array;
        const outs = await split.forward(x, spatial, { deepSupervision: true });
        const reference = await whole.forward(x, spatial, { deepSupervision: true });
        outs.forEach((o, i) => expectNear(o, reference[i], 1e-5, `GRN split vs unsplit out_${i}`));
        expect(pathsOf(split)).toContain('split');
        expect(pathsOf(whole)).not.toContain('split');
      } finally {
        split.dispose();
        whole.dispose();
        xs.dispose();
        model.dispose();
      }
    },
  );

  it('regroups a value between channel groupings without changing a value', { timeout: 60_000 }, async () => {
    const { device } = await acquireGpuDevice();
    // 7 channels of 5x3x4 voxels (240 bytes each): at most 3 per 720-byte binding.
    const rt = new GpuRuntime(device, { maxBindingBytes: 720 });
    try {
      const vox = 60;
      const data = Float32Array.from({ length: 7 * vox }, (_, i) => i * 0.5 - 17);
      const v = allocateValue(rt, 7, [5, 3, 4], 'v');
      expect(v.partChannels).toBe(3);
      expect(v.parts.map((p) => p.length)).toEqual([180, 180, 60]);
      expect(() => v.tensor).toThrow(/split into 3 channel groups/);
      v.parts.forEach((p, i) => device.queue.writeBuffer(p.buffer, 0, data, i * 3 * vox, p.length));
      const pairs = regroup(rt, v, 2);
      expect(pairs.parts.map((p) => p.length)).toEqual([120, 120, 120, 60]);
      expect(regroup(rt, v, 3)).toBe(v);
      const read = await rt.finish([...pairs.parts]);
      const joined = new Float32Array(7 * vox);
      read.forEach((part, i) => joined.set(part, i * 2 * vox));
      expect(Array.from(joined)).toEqual(Array.from(data));
      expect(() => allocateValue(rt, 7, [5, 3, 4], 'too wide', 4)).toThrow(/above the storage binding limit/);
      releaseValue(rt, pairs);
      releaseValue(rt, v);
    } finally {
      rt.dispose();
      device.destroy();
    }
  });

  it('refuses a volume of which one channel exceeds the limit, naming it', { timeout: 240_000 }, async () => {
    const model = MedNeXt.create({ in_channels: 1, n_channels: 2, n_classes: 1, kernel_size: 3 });
    // Every weight fits 32 KiB; one 32^3 channel is 128 KiB.
    const net = await createWebGpuNetwork(model, { maxBindingBytes: 32 * 1024 });
    try {
      await expect(net.forward(new Float32Array(32 ** 3), [32, 32, 32])).rejects.toThrow(
        /one channel of 32768 voxels needs 0.125 MiB, above the storage binding limit of 0.0313 MiB/,
      );
    } finally {
      net.dispose();
      model.dispose();
    }
  });
});
