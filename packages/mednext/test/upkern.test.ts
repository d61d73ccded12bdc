import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MedNeXt, getStateDict, resampleKernel, upkernLoad, type MedNeXtConfig } from '../src/index.js';
import { linearResizeMatrix } from '../src/weights/upkern.js';
import { FIXTURES, closeness, readNpyTensor, useBackend } from './helpers.js';

const tiny = (k: number): MedNeXtConfig => ({
  in_channels: 4,
  n_channels: 4,
  n_classes: 3,
  exp_r: 2,
  kernel_size: k,
  deep_supervision: true,
  do_res: true,
  do_res_up_down: true,
  block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
});

describe('UpKern', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('3 → 5 interpolation matrix is the spec’s', () => {
    const m = linearResizeMatrix(3, 5);
    const expected = [
      [1, 0, 0],
      [0.6, 0.4, 0],
      [0, 1, 0],
      [0, 0.4, 0.6],
      [0, 0, 1],
    ];
    m.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], 12)));
  });

  for (const key of ['enc_block_0.0.conv1.weight', 'up_1.conv1.weight']) {
    it(`resamples ${key} like the official loader`, () => {
      const k3 = readNpyTensor(path.join(FIXTURES, 'extras', `upkern_k3__${key}.npy`));
      const k5 = readNpyTensor(path.join(FIXTURES, 'extras', `upkern_k5__${key}.npy`));
      const got = resampleKernel(k3.dataSync() as Float32Array, k3.shape, 5);
      expect(got.length).toBe(k5.size);
      expect(closeness(got, k5.dataSync(), 1e-7, 1e-6).ratio).toBeLessThanOrEqual(1);
    });
  }

  it('loads a k3 model into a k5 model: copies everything else, resamples every conv1.weight', () => {
    const small = MedNeXt.create(tiny(3), { seed: 3 });
    const big = MedNeXt.create(tiny(5), { seed: 4 });
    const sd = getStateDict(small);
    const withPrefix = new Map([...sd].map(([k, v]) => [`module.${k}`, v]));
    const report = upkernLoad(big, withPrefix);
    // 9 stages x 1 block + 4 down + 4 up = 17 depthwise kernels.
    expect(report.resampled.length).toBe(17);
    expect(report.resampled.every((n) => n.endsWith('conv1.weight'))).toBe(true);
    expect(report.missing).toEqual([]);
    expect(report.copied.length + report.resampled.length).toBe(big.params.size);
    const a = big.params.get('down_2.conv2.weight')!.dataSync();
    expect(Array.from(a)).toEqual(Array.from(sd.get('down_2.conv2.weight')!.data));
    const w = big.params.get('enc_block_0.0.conv1.weight')!;
    expect(w.shape).toEqual([4, 1, 5, 5, 5]);
    // Corner taps of the k5 kernel are the k3 corners (interpolation weights 1 at the ends).
    const src = sd.get('enc_block_0.0.conv1.weight')!.data;
    expect(w.dataSync()[0]).toBeCloseTo(src[0], 7);
    expect(w.dataSync()[124]).toBeCloseTo(src[26], 7);
    small.dispose();
    big.dispose();
  });

  it('refuses checkpoints that differ in more than the kernel size', () => {
    const other = MedNeXt.create({ ...tiny(3), n_channels: 8 });
    const big = MedNeXt.create(tiny(5));
    expect(() => upkernLoad(big, getStateDict(other))).toThrow(/only depthwise kernel sizes may differ/);
    tf.dispose([...other.params.values(), ...big.params.values()]);
  });
});
