import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MedNeXt, loadStateDict, runBlock, toNcdhw, toNdhwc, type MedNeXtConfig } from '../src/index.js';
import { FIXTURES, closeness, readNpyTensor, readSafetensors, useBackend } from './helpers.js';

// README tolerance for outputs: |a − b| ≤ 1e-4 + 1e-4·|b|.
const ATOL = 1e-4;
const RTOL = 1e-4;

function runFixture(dir: string): { outputs: tf.Tensor[]; model: MedNeXt } {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as MedNeXtConfig;
  const model = MedNeXt.create(config, { seed: 7 });
  loadStateDict(model, readSafetensors(path.join(dir, 'weights.safetensors')).tensors);
  const outputs = tf.tidy(() => {
    const x = toNdhwc(readNpyTensor(path.join(dir, 'input.npy')) as tf.Tensor5D);
    return model.forward(x).map((o) => toNcdhw(o));
  });
  return { outputs, model };
}

describe('MedNeXt forward against the official fixtures (cpu)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('config_a: main and 4 deep-supervision outputs match', () => {
    const dir = path.join(FIXTURES, 'config_a');
    const { outputs, model } = runFixture(dir);
    expect(model.parameterCount()).toBe(69_784);
    const names = ['output_main', 'output_ds1', 'output_ds2', 'output_ds3', 'output_ds4'];
    expect(outputs.length).toBe(5);
    names.forEach((name, i) => {
      const ref = readNpyTensor(path.join(dir, `${name}.npy`));
      expect(outputs[i].shape).toEqual(ref.shape);
      const { ratio, maxAbs } = closeness(outputs[i].dataSync(), ref.dataSync(), ATOL, RTOL);
      expect(ratio, `${name} max abs diff ${maxAbs}`).toBeLessThanOrEqual(1);
      ref.dispose();
    });
    tf.dispose(outputs);
    model.dispose();
  });

  it('config_a with deep supervision switched off returns only the main output, same values', () => {
    const dir = path.join(FIXTURES, 'config_a');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as MedNeXtConfig;
    const model = MedNeXt.create(config);
    loadStateDict(model, readSafetensors(path.join(dir, 'weights.safetensors')).tensors);
    const x = toNdhwc(readNpyTensor(path.join(dir, 'input.npy')) as tf.Tensor5D);
    const outs = model.forward(x, { deepSupervision: false, training: true });
    expect(outs.length).toBe(1);
    const ref = readNpyTensor(path.join(dir, 'output_main.npy'));
    const got = toNcdhw(outs[0]);
    expect(closeness(got.dataSync(), ref.dataSync(), ATOL, RTOL).ratio).toBeLessThanOrEqual(1);
    tf.dispose([x, got, ref, ...outs]);
    model.dispose();
  });

  it('config_a in small chunks (the memory-bounded inference path) gives the same outputs', () => {
    const dir = path.join(FIXTURES, 'config_a');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as MedNeXtConfig;
    const model = MedNeXt.create(config);
    loadStateDict(model, readSafetensors(path.join(dir, 'weights.safetensors')).tensors);
    const x = toNdhwc(readNpyTensor(path.join(dir, 'input.npy')) as tf.Tensor5D);
    // 5000 elements: up_0 (8 expanded channels x 31^3 voxels) runs in ~48 chunks of 625 voxels.
    const outs = model.forward(x, { chunkElements: 5000 });
    ['output_main', 'output_ds1', 'output_ds2', 'output_ds3', 'output_ds4'].forEach((name, i) => {
      const ref = readNpyTensor(path.join(dir, `${name}.npy`));
      const got = toNcdhw(outs[i]);
      const { ratio, maxAbs } = closeness(got.dataSync(), ref.dataSync(), ATOL, RTOL);
      expect(ratio, `${name} max abs diff ${maxAbs}`).toBeLessThanOrEqual(1);
      tf.dispose([ref, got]);
    });
    tf.dispose([x, ...outs]);
    model.dispose();
  });

  it('config_b (exp_r list, 2 blocks per stage): output matches', () => {
    const dir = path.join(FIXTURES, 'config_b');
    const { outputs, model } = runFixture(dir);
    expect(model.parameterCount()).toBe(686_844);
    expect(model.params.size).toBe(229);
    expect(outputs.length).toBe(1);
    const ref = readNpyTensor(path.join(dir, 'output_main.npy'));
    const { ratio, maxAbs } = closeness(outputs[0].dataSync(), ref.dataSync(), ATOL, RTOL);
    expect(ratio, `max abs diff ${maxAbs}`).toBeLessThanOrEqual(1);
    tf.dispose([...outputs, ref]);
    model.dispose();
  });

  it('a single GRN block matches the extras fixture', () => {
    const sd = readSafetensors(path.join(FIXTURES, 'extras', 'grn_block_weights.safetensors')).tensors;
    const get = (name: string): tf.Tensor => {
      const t = sd.get(name);
      if (!t) throw new Error(`fixture lacks ${name}`);
      return tf.tensor(t.data, t.shape);
    };
    const out = tf.tidy(() => {
      const x = toNdhwc(readNpyTensor(path.join(FIXTURES, 'extras', 'grn_block_input.npy')) as tf.Tensor5D);
      const block = {
        name: '',
        kind: 'block' as const,
        cIn: 6,
        cOut: 6,
        expR: 3,
        kernel: 3,
        residual: true,
        grn: true,
      };
      // Keys of the fixture have no prefix; runBlock joins `${name}.conv1.weight`, so strip the dot.
      return toNcdhw(runBlock(x, block, (n) => get(n.replace(/^\./, ''))));
    });
    const ref = readNpyTensor(path.join(FIXTURES, 'extras', 'grn_block_output.npy'));
    expect(out.shape).toEqual([1, 6, 12, 10, 8]);
    const { ratio, maxAbs } = closeness(out.dataSync(), ref.dataSync(), ATOL, RTOL);
    expect(ratio, `max abs diff ${maxAbs}`).toBeLessThanOrEqual(1);
    tf.dispose([out, ref]);
  });

  it('rejects inputs that are not multiples of 16 or have the wrong channel count', () => {
    const model = MedNeXt.create({
      in_channels: 2,
      n_channels: 2,
      n_classes: 1,
      kernel_size: 3,
      block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
    });
    expect(() => model.forward(tf.zeros([1, 16, 16, 24, 2]) as tf.Tensor5D)).toThrow(/multiple of 16.*16x16x24/);
    expect(() => model.forward(tf.zeros([1, 16, 16, 16, 3]) as tf.Tensor5D)).toThrow(/3 channels/);
    expect(() => model.forward(tf.zeros([1, 16, 16, 16, 2]) as tf.Tensor5D, { deepSupervision: true })).toThrow(
      /without the DS heads/,
    );
    model.dispose();
  });
});
