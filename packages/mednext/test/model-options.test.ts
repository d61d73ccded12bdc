import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MedNeXt,
  buildArchitecture,
  countParameters,
  resolveConfig,
  runBlock,
  type MedNeXtConfig,
} from '../src/index.js';
import { useBackend } from './helpers.js';

/** Parameter count from the spec's per-module formulas (§2.2), written independently of the model code. */
function formulaCount(c: MedNeXtConfig): number {
  const r = resolveConfig(c);
  const block = (C: number, e: number, k: number, cOut: number, grn: boolean): number =>
    C * k ** 3 + C + 2 * C + e * C * C + e * C + e * C * cOut + cOut + (grn ? 2 * e * C : 0);
  let n = 1 + r.inChannels * r.nChannels + r.nChannels; // dummy + stem
  for (let j = 0; j < 4; j++) {
    const C = r.nChannels * 2 ** j;
    n += r.blockCounts[j] * block(C, r.expR[j], r.encKernel, C, r.grn);
    n += block(C, r.expR[j + 1], r.encKernel, 2 * C, j === 0 ? false : r.grn);
    if (r.doResUpDown) n += 2 * C * C + 2 * C;
    n += r.blockCounts[8 - j] * block(C, r.expR[8 - j], r.decKernel, C, r.grn);
    n += block(2 * C, r.expR[8 - j], r.decKernel, C, r.grn);
    if (r.doResUpDown) n += 2 * C * C + C; // up res conv: (2C)²/2 + 2C/2
  }
  n += r.blockCounts[4] * block(16 * r.nChannels, r.expR[4], r.decKernel, 16 * r.nChannels, r.grn);
  n += r.nChannels * r.nClasses + r.nClasses;
  if (r.deepSupervision) for (let j = 1; j <= 4; j++) n += r.nChannels * 2 ** j * r.nClasses + r.nClasses;
  return n;
}

describe('network options', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  const variants: Array<[string, MedNeXtConfig]> = [
    [
      'k7, GRN, no residuals, exp_r list',
      {
        in_channels: 2,
        n_channels: 2,
        n_classes: 2,
        exp_r: [1, 2, 3, 2, 1, 2, 3, 2, 1],
        kernel_size: 7,
        do_res: false,
        do_res_up_down: false,
        grn: true,
        block_counts: [1, 2, 1, 1, 1, 1, 1, 2, 1],
      },
    ],
    [
      'separate enc/dec kernels 3/5, deep supervision',
      {
        in_channels: 1,
        n_channels: 3,
        n_classes: 1,
        exp_r: 2,
        enc_kernel_size: 3,
        dec_kernel_size: 5,
        deep_supervision: true,
        do_res: true,
        do_res_up_down: true,
        block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
      },
    ],
  ];

  for (const [label, config] of variants) {
    it(`${label}: parameter count by formula, output shapes, finite values`, () => {
      expect(countParameters(buildArchitecture(resolveConfig(config)))).toBe(formulaCount(config));
      const model = MedNeXt.create(config, { seed: 9 });
      expect(model.parameterCount()).toBe(formulaCount(config));
      const x = tf.randomNormal([2, 16, 32, 16, config.in_channels], 0, 1, 'float32', 3) as tf.Tensor5D;
      const outs = model.forward(x);
      const expected = config.deep_supervision ? [1, 2, 4, 8, 16] : [1];
      expect(outs.map((o) => o.shape)).toEqual(expected.map((f) => [2, 16 / f, 32 / f, 16 / f, config.n_classes]));
      for (const o of outs) expect(o.dataSync().every(Number.isFinite)).toBe(true);
      // Samples are independent (instance-style norm): sample 1 alone gives the same output.
      const alone = model.forward(tf.slice(x, [1, 0, 0, 0, 0], [1, 16, 32, 16, config.in_channels]));
      const both = tf.slice(outs[0], [1, 0, 0, 0, 0], [1, 16, 32, 16, config.n_classes]).dataSync();
      const single = alone[0].dataSync();
      let maxDiff = 0;
      for (let i = 0; i < single.length; i++) maxDiff = Math.max(maxDiff, Math.abs(single[i] - both[i]));
      expect(maxDiff).toBeLessThan(1e-5);
      tf.dispose([x, ...outs, ...alone]);
      model.dispose();
    });
  }

  it('the up block zero-pads the front: first D slice, H row and W column of up_0 output are exactly 0', () => {
    const model = MedNeXt.create(variants[1][1], { seed: 2 });
    const up = model.architecture.ups[3];
    const x = tf.randomNormal([1, 4, 4, 4, up.cIn], 0, 1, 'float32', 4) as tf.Tensor5D;
    const y = runBlock(x, up, (n) => model.params.get(n)!);
    expect(y.shape).toEqual([1, 8, 8, 8, up.cOut]);
    const face = (begin: number[], size: number[]): number[] => Array.from(tf.slice(y, begin, size).dataSync());
    for (const v of face([0, 0, 0, 0, 0], [1, 1, 8, 8, up.cOut])) expect(v).toBe(0);
    for (const v of face([0, 0, 0, 0, 0], [1, 8, 1, 8, up.cOut])) expect(v).toBe(0);
    for (const v of face([0, 0, 0, 0, 0], [1, 8, 8, 1, up.cOut])) expect(v).toBe(0);
    expect(face([0, 1, 1, 1, 0], [1, 7, 7, 7, up.cOut]).some((v) => v !== 0)).toBe(true);
    model.dispose();
  });
});
