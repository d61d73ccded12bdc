/// <reference types="@webgpu/types" />
/*
 * The WGSL region losses against the tfjs reference: value and tf.grad of
 * deepSupervisionLoss(outputs, targets, batchDiceFocalLoss | regionDiceBceLoss) on odd shapes,
 * several deep-supervision scales and weights, both memory layouts, on Dawn (llvmpipe here).
 *
 * Tolerances. Both sides compute in float32, but they add up differently: tfjs-cpu accumulates
 * each sum in a float64 JS number, the kernels in float32 (a per-thread running sum over ~8 voxels,
 * then two tree reductions), with a relative error of about log2(V)·2^-24 ≤ 1e-6 for the V ≤ 36k
 * voxels here; exp/log/pow on the GPU are also allowed a few ulp more than Math.*. The loss value
 * is a handful of such sums: rtol 2e-6. Each gradient element is
 * w·[(a·y + b)·p(1 − p) + focal′/E], where a and b come from those sums (relative error ~1e-6)
 * and the two parts can cancel, so the bound is also relative to the largest gradient of the
 * output: |gpu − ref| ≤ 2e-6·max|ref| + 2e-5·|ref|. Measured on llvmpipe: the value within
 * 1.9e-7 relative, the gradients within 10% of their bound.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  acquireGpuDevice,
  collectDeviceErrors,
  readBuffer,
  storageBuffer as upload,
} from '@mednext-ts/tensor3d/webgpu';
import {
  batchDiceFocalLoss,
  deepSupervisionLoss,
  deepSupervisionWeights,
  regionDiceBceLoss,
  targetPyramid,
  type LossFn,
} from '../src/index.js';
import { WebGPURegionLoss, type WebGPURegionLossSpec } from '../src/losses/webgpu/index.js';
import { useBackend } from './helpers.js';

/** WebGPU is expected (Dawn on llvmpipe needs no GPU): no adapter fails, unless MEDNEXT_SKIP_WEBGPU declares none. */
const SKIP_WEBGPU = Boolean(process.env.MEDNEXT_SKIP_WEBGPU);

/** Full-resolution target [N, D, H, W, C]: 2 samples, 3 region channels, 693 voxels (two reduction chunks). */
const FULL: [number, number, number, number, number] = [2, 9, 11, 7, 3];

describe.skipIf(SKIP_WEBGPU)('WebGPU region losses on Dawn', () => {
  let device: GPUDevice;
  let errors: string[];

  beforeAll(async () => {
    await useBackend('cpu');
    ({ device } = await acquireGpuDevice());
    errors = collectDeviceErrors(device);
  });

  afterAll(() => {
    expect(errors, 'WebGPU validation errors').toEqual([]);
    device?.destroy();
  });

  /** Targets (nnU-Net's nearest pyramid of a random binary volume) and random logits of the same shapes. */
  function problem(
    outputs: number,
    seed: number,
    fullShape: number[] = FULL,
  ): { logits: tf.Tensor5D[]; targets: tf.Tensor5D[] } {
    const full = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform(fullShape, 0, 1, 'float32', seed), 0.6), 'float32'));
    const targets = targetPyramid(full as tf.Tensor5D, outputs);
    full.dispose();
    const logits = targets.map((t, i) => tf.randomNormal(t.shape, 0, 2, 'float32', seed + 10 + i) as tf.Tensor5D);
    return { logits, targets };
  }

  /** NDHWC → NCDHW. */
  const toChannelsFirst = (t: tf.Tensor) => tf.transpose(t, [0, 4, 1, 2, 3]);

  async function compare(
    spec: WebGPURegionLossSpec,
    reference: LossFn,
    outputs: number,
    options: { weights?: number[]; layout?: 'channels-last' | 'channels-first'; fullShape?: number[] } = {},
  ): Promise<void> {
    const { logits, targets } = problem(outputs, 7 + outputs, options.fullShape);
    const weights = options.weights ?? deepSupervisionWeights(outputs);
    // deepSupervisionLoss leaves weight-0 outputs out, which tf.grad refuses; 0·Σx keeps them connected.
    const { value, grads } = tf.valueAndGrads(
      (...xs: tf.Tensor[]) =>
        tf.add(
          deepSupervisionLoss(xs, targets, reference, weights),
          tf.addN(xs.map((x) => tf.mul(tf.sum(x), 0))),
        ) as tf.Scalar,
    )(logits);

    const channelsFirst = options.layout === 'channels-first';
    const onDevice = async (t: tf.Tensor) => upload(device, await (channelsFirst ? toChannelsFirst(t) : t).data());
    const inputs = [];
    for (let s = 0; s < outputs; s++) {
      inputs.push({
        logits: await onDevice(logits[s]!),
        target: await onDevice(targets[s]!),
        grad: upload(device, new Float32Array(logits[s]!.size).fill(NaN)),
      });
    }
    const shapes = logits.map((l) =>
      channelsFirst ? [l.shape[0], l.shape[4], l.shape[1], l.shape[2], l.shape[3]] : l.shape,
    );
    const loss = new WebGPURegionLoss(device, spec, shapes, { weights, layout: options.layout });
    const encoder = device.createCommandEncoder();
    loss.record(encoder, inputs);
    device.queue.submit([encoder.finish()]);

    const expected = (await value.data())[0]!;
    const total = await loss.readTotal();
    expect(Math.abs(total - expected), `loss ${total} vs tfjs ${expected}`).toBeLessThanOrEqual(
      2e-6 * Math.abs(expected),
    );
    const terms = await readBuffer(device, loss.losses, outputs);
    expect(Math.abs(terms.reduce((a, b) => a + b, 0) - total)).toBeLessThanOrEqual(1e-6 * Math.abs(total) + 1e-7);

    for (let s = 0; s < outputs; s++) {
      const ref = grads[s]!;
      const refValues = await (channelsFirst ? toChannelsFirst(ref) : ref).data();
      const got = await readBuffer(device, inputs[s]!.grad, ref.size);
      let scale = 0;
      for (const r of refValues) scale = Math.max(scale, Math.abs(r));
      if (weights[s] === 0) {
        expect(scale).toBe(0);
        expect(
          Array.from(got).every((g) => g === 0),
          `output ${s} has weight 0: zero gradient`,
        ).toBe(true);
        continue;
      }
      expect(scale).toBeGreaterThan(0);
      let worst = 0;
      for (let i = 0; i < got.length; i++) {
        const bound = 2e-6 * scale + 2e-5 * Math.abs(refValues[i]!);
        worst = Math.max(worst, Math.abs(got[i]! - refValues[i]!) / bound);
      }
      expect(worst, `output ${s}: worst |gpu−tfjs| / bound`).toBeLessThanOrEqual(1);
    }
    loss.dispose();
    for (const b of inputs) for (const buf of Object.values(b)) buf.destroy();
    tf.dispose([value, ...grads, ...logits, ...targets]);
  }

  it('batch Dice + focal (gamma 2), 3 outputs, nnU-Net weights, channels last', async () => {
    await compare({ loss: 'dice-focal' }, batchDiceFocalLoss, 3);
  });

  it('batch Dice + focal with alpha 0.25 and gamma 1.5, an output of weight 0', async () => {
    const options = { gamma: 1.5, alpha: 0.25 };
    await compare({ loss: 'dice-focal', options }, (l, t) => batchDiceFocalLoss(l, t, options), 3, {
      weights: [0.6, 0, 0.4],
    });
  });

  it('BCE − per-sample Dice (nnU-Net v1 BraTS regions), channels first', async () => {
    await compare({ loss: 'dice-bce' }, regionDiceBceLoss, 2, { layout: 'channels-first' });
  });

  it('BCE − batch Dice with smooth 1, one output', async () => {
    const options = { batchDice: true, smooth: 1 };
    await compare({ loss: 'dice-bce', options }, (l, t) => regionDiceBceLoss(l, t, options), 1, { weights: [1] });
  });

  it('batch Dice + focal over 35,937 voxels (71 reduction chunks, more than one per thread of the reduce pass)', async () => {
    await compare({ loss: 'dice-focal' }, batchDiceFocalLoss, 2, { fullShape: [1, 33, 33, 33, 2] });
  });

  it('rejects mismatched inputs with errors that name the problem', () => {
    const loss = new WebGPURegionLoss(device, { loss: 'dice-focal' }, [[1, 4, 4, 4, 2]], { weights: [1] });
    const small = upload(device, new Float32Array(10));
    const encoder = device.createCommandEncoder();
    expect(() => loss.record(encoder, [])).toThrow(/0 outputs given, the loss was built for 1/);
    expect(() => loss.record(encoder, [{ logits: small, target: small, grad: small }])).toThrow(
      /output 0 "logits" must be a STORAGE buffer of at least 512 bytes \(shape \[1,4,4,4,2\]\)/,
    );
    const big = upload(device, new Float32Array(128));
    expect(() => loss.record(encoder, [{ logits: big, target: big, grad: big }])).toThrow(
      /output 0 "grad" must be a buffer of its own/,
    );
    big.destroy();
    expect(() => new WebGPURegionLoss(device, { loss: 'dice-focal' }, [[1, 4, 4, 4, 2]])).not.toThrow();
    expect(() => new WebGPURegionLoss(device, { loss: 'dice-focal' }, [[1, 4, 4, 4, 2]], { weights: [1, 2] })).toThrow(
      /1 output shapes but 2 weights/,
    );
    encoder.finish();
    loss.dispose();
    small.destroy();
  });
});
