import * as tf from '@tensorflow/tfjs-core';
import { registerFastKernels, unregisterFastKernels, wasmKernels } from '@mednext-ts/tensor3d';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MedNeXt, type MedNeXtConfig } from '../src/index.js';
import { KernelHeapNetwork, kernelHeapSupports } from '../src/network/engines/kernel-heap/network.js';
import { closeness, expectClose, useBackend } from './helpers.js';

// expectClose: the fixtures' tolerance (|a − b| ≤ 1e-4 + 1e-4·|b|), between the whole-network and composite paths.
const base: MedNeXtConfig = {
  in_channels: 3,
  n_channels: 8,
  n_classes: 3,
  exp_r: [2, 3, 4, 4, 2, 4, 4, 3, 2],
  kernel_size: 3,
  deep_supervision: true,
  do_res: true,
  do_res_up_down: true,
  block_counts: [1, 2, 1, 1, 1, 1, 1, 2, 1],
};

describe('whole-network forward in kernel memory (cpu + fast kernels)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    registerFastKernels({ backends: ['cpu'] });
  });
  afterAll(() => {
    unregisterFastKernels();
  });

  it('runs instead of the per-block path: no tfjs convolution or matmul, every activation freed afterwards', async () => {
    const model = MedNeXt.create(base, { seed: 1 });
    const x = tf.randomNormal([1, 16, 32, 48, 3], 0, 1, 'float32', 2) as tf.Tensor5D;
    const rt = wasmKernels.getKernelRuntime();
    const liveBefore = rt.memoryUse().liveBytes;
    let outs: tf.Tensor5D[] = [];
    const info = await tf.profile(() => {
      outs = model.forward(x);
      return outs;
    });
    // the composite and per-block paths dispatch these; the whole-network pass none
    for (const k of [
      'BatchMatMul',
      'DepthwiseConv3D',
      'DepthwiseConv3DBackpropInput',
      'PadV2',
      'Slice',
      'AddV2',
      'Add',
    ]) {
      expect(info.kernelNames, k).not.toContain(k);
    }
    // only the packed weights stay in kernel memory; a second pass allocates nothing new
    const afterFirst = rt.memoryUse();
    const weightsBytes = afterFirst.liveBytes - liveBefore;
    expect(weightsBytes).toBeGreaterThan(model.parameterCount() * 4 * 0.9);
    expect(weightsBytes).toBeLessThan(model.parameterCount() * 4 * 2);
    const again = model.forward(x);
    expect(rt.memoryUse().liveBytes).toBe(afterFirst.liveBytes);
    expect(rt.memoryUse().highWaterBytes).toBe(afterFirst.highWaterBytes);
    // and the values are the composite path's, for every deep-supervision output
    const composite = model.forward(x, { fused: false });
    expect(outs.map((o) => o.shape)).toEqual([
      [1, 16, 32, 48, 3],
      [1, 8, 16, 24, 3],
      [1, 4, 8, 12, 3],
      [1, 2, 4, 6, 3],
      [1, 1, 2, 3, 3],
    ]);
    outs.forEach((o, i) => expectClose(o, composite[i], `output ${i}`));
    again.forEach((o, i) => expect(Array.from(o.dataSync())).toEqual(Array.from(outs[i].dataSync())));
    model.dispose();
    expect(rt.memoryUse().liveBytes).toBe(liveBefore);
    tf.dispose([x, ...outs, ...again, ...composite]);
  });

  it('k5 without res_conv paths, batch of 2: each sample as on its own, equal to the composite path', () => {
    const config: MedNeXtConfig = {
      ...base,
      kernel_size: 5,
      do_res_up_down: false,
      do_res: false,
      deep_supervision: false,
    };
    const model = MedNeXt.create(config, { seed: 5 });
    const x = tf.randomNormal([2, 16, 16, 32, 3], 0, 1, 'float32', 6) as tf.Tensor5D;
    const [both] = model.forward(x);
    const [composite] = model.forward(x, { fused: false });
    expectClose(both, composite, 'batch of 2');
    const second = tf.slice(x, [1, 0, 0, 0, 0], [1, 16, 16, 32, 3]) as tf.Tensor5D;
    const [alone] = model.forward(second);
    const secondOfBoth = tf.slice(both, [1, 0, 0, 0, 0], [1, 16, 16, 32, 3]);
    expect(Array.from(alone.dataSync())).toEqual(Array.from(secondOfBoth.dataSync()));
    tf.dispose([x, both, composite, second, alone, secondOfBoth]);
    model.dispose();
  });

  it('training with channel counts the kernels do not take (not multiples of 4) keeps the composite tail', () => {
    const model = MedNeXt.create({ ...base, n_channels: 2, deep_supervision: false }, { seed: 3 });
    const x = tf.randomNormal([1, 16, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor5D;
    const { value, grads } = model.valueAndGrads(() => tf.mean(tf.square(model.forward(x, { training: true })[0])));
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(grads.get('enc_block_0.0.conv2.weight')?.shape).toEqual([4, 2, 1, 1, 1]);
    tf.dispose([x, value, ...grads.values()]);
    model.dispose();
  });

  it('up blocks a slab of planes at a time give the same values as in one piece', () => {
    const model = MedNeXt.create(base, { seed: 8 });
    const x = tf.randomNormal([1, 32, 16, 48, 3], 0, 1, 'float32', 9);
    const data = x.dataSync() as Float32Array;
    const p = (name: string): tf.Tensor => model.params.get(name) as tf.Tensor;
    const rt = wasmKernels.getKernelRuntime();
    const whole = new KernelHeapNetwork(model.architecture).run(rt, p, data, [32, 16, 48], true);
    // one plane per slab: up_0 (31 planes) in 31 slabs, up_3 (3 planes) in 3
    const sliced = new KernelHeapNetwork(model.architecture, { slabBytes: 1 });
    const bySlab = sliced.run(rt, p, data, [32, 16, 48], true);
    whole.forEach((o, i) => {
      expect(bySlab[i].length).toBe(o.length);
      const { ratio, maxAbs } = closeness(bySlab[i], o, 1e-5, 1e-5);
      expect(ratio, `output ${i}: max abs diff ${maxAbs}`).toBeLessThanOrEqual(1);
    });
    sliced.dispose();
    tf.dispose(x);
    model.dispose();
  });

  it('takes only GRN-free networks and checks its input', () => {
    const grn = MedNeXt.create({ ...base, grn: true }, { seed: 1 });
    expect(kernelHeapSupports(grn.architecture)).toBe(false);
    expect(() => new KernelHeapNetwork(grn.architecture)).toThrow(/GRN/);
    grn.dispose();
    const model = MedNeXt.create(base, { seed: 1 });
    const net = new KernelHeapNetwork(model.architecture);
    const p = (name: string): tf.Tensor => model.params.get(name) as tf.Tensor;
    expect(() => net.run(wasmKernels.getKernelRuntime(), p, new Float32Array(10), [16, 16, 16], false)).toThrow(
      /x has 10 values, 16x16x16x3 needs 12288/,
    );
    net.dispose();
    model.dispose();
  });
});
