/**
 * Compiled pipelines are shared by the runtimes of one device: a second runtime compiles nothing and computes the
 * same bits; each kernel variant (distinct constants) is its own pipeline; another device compiles its own. The
 * keys are exact (kernel definition identity plus the constants' text), checked directly too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GpuRuntime,
  acquireGpuDevice,
  add,
  addKernel,
  depthwiseConv3d,
  depthwiseConv3dKernel,
  depthwiseOutputSize,
  sigmoid,
} from '../src/webgpu/index.js';
import { compiledKernel, kernelConstantsKey, kernelVariant } from '../src/webgpu/pipeline-cache.js';
import { randomValues } from './helpers/depthwise-oracle.js';
import { WEBGPU_DECLARED_ABSENT, testGpuDevice } from './helpers/webgpu-device.js';

type V3 = [number, number, number];
const C = 3;
const SIZE: V3 = [5, 4, 6];
const VOX = SIZE[0] * SIZE[1] * SIZE[2];

interface Inputs {
  a: Float32Array;
  b: Float32Array;
  filters: Map<number, Float32Array>;
  bias: Float32Array;
}

/** add, sigmoid (same packed parameters as add) and depthwise convolutions with k = 3 and 5 on one runtime. */
async function compute(rt: GpuRuntime, inputs: Inputs, kernels: number[]): Promise<Float32Array[]> {
  const a = rt.upload(inputs.a, 'a');
  const b = rt.upload(inputs.b, 'b');
  const sum = rt.tensor(inputs.a.length, 'sum');
  const prob = rt.tensor(inputs.a.length, 'prob');
  add(rt, { a, b, output: sum });
  sigmoid(rt, { input: sum, output: prob });
  const bias = rt.upload(inputs.bias, 'bias');
  const convs = kernels.map((k) => {
    const output = rt.tensor(C * VOX, `conv${k}`);
    depthwiseConv3d(rt, {
      input: a,
      filter: rt.upload(inputs.filters.get(k) as Float32Array, `filter${k}`),
      bias,
      output,
      channels: C,
      inSize: SIZE,
      kernel: k,
      stride: 1,
    });
    return output;
  });
  return rt.finish([sum, prob, ...convs]);
}

/** The bits of a Float32Array (so -0 and NaN patterns count too). */
const bits = (x: Float32Array): Uint32Array => new Uint32Array(x.buffer, x.byteOffset, x.length);

describe('kernel variant keys (exact, no GPU needed)', () => {
  it('tell types, values, nesting and -0 apart, and keep key order', () => {
    const keys = [
      { k: 1 },
      { k: '1' },
      { k: true },
      { k: -0 },
      { k: 0 },
      { k: null },
      { k: undefined },
      {},
      { k: [1, 2] },
      { k: [[1], 2] },
      { k: { a: 1 } },
      { a: 1, b: 2 },
      { b: 2, a: 1 },
      undefined,
    ].map((c) => kernelConstantsKey(c, 'test'));
    expect(new Set(keys).size).toBe(keys.length);
    expect(kernelConstantsKey({ k: 3, transposed: false }, 'test')).toBe(
      kernelConstantsKey({ k: 3, transposed: false }, 'test'),
    );
  });

  it('refuse constants that are not plain data, naming the kernel', () => {
    expect(() => kernelConstantsKey({ at: new Date(0) }, 'depthwiseConv3d')).toThrow(
      /kernel depthwiseConv3d: compile-time constants must be plain data.*Date/,
    );
    expect(() => kernelConstantsKey({ f: () => 1 }, 'add')).toThrow(/kernel add: .*function/);
  });

  it('give one variant per distinct source: equal constants share it, different ones do not', () => {
    const k3 = kernelVariant(depthwiseConv3dKernel, { k: 3, transposed: false });
    expect(kernelVariant(depthwiseConv3dKernel, { k: 3, transposed: false })).toBe(k3);
    // Same constants in another key order: the same source, so the same variant (one pipeline).
    expect(kernelVariant(depthwiseConv3dKernel, { transposed: false, k: 3 })).toBe(k3);
    const k5 = kernelVariant(depthwiseConv3dKernel, { k: 5, transposed: false });
    const t3 = kernelVariant(depthwiseConv3dKernel, { k: 3, transposed: true });
    expect(new Set([k3, k5, t3]).size).toBe(3);
    expect(new Set([k3.source, k5.source, t3.source]).size).toBe(3);
    expect(k3.bindings.map((b) => b.name)).toEqual(['input', 'weights', 'bias', 'output']);
  });
});

describe.skipIf(WEBGPU_DECLARED_ABSENT)('compiled pipelines shared per device (WebGPU)', () => {
  let device: GPUDevice;
  let other: GPUDevice | undefined;
  const inputs: Inputs = {
    a: randomValues(C * VOX, 1),
    b: randomValues(C * VOX, 2),
    filters: new Map([
      [3, randomValues(C * 27, 3)],
      [5, randomValues(C * 125, 4)],
    ]),
    bias: randomValues(C, 5),
  };

  beforeAll(async () => {
    device = (await testGpuDevice()).device;
  });
  afterAll(() => other?.destroy());

  it('a second runtime on the device compiles nothing and gives the same bits', async () => {
    const first = new GpuRuntime(device);
    const firstOut = await compute(first, inputs, [3]);
    const compiledByFirst = first.pipelinesCompiled;
    // add, sigmoid and the k = 3 convolution: three pipelines unless an earlier test of this file compiled them.
    expect(compiledByFirst).toBeLessThanOrEqual(3);
    const second = new GpuRuntime(device);
    const secondOut = await compute(second, inputs, [3]);
    expect(second.pipelinesCompiled).toBe(0);
    expect(second.dispatchCount).toBe(3);
    for (let i = 0; i < firstOut.length; i++) expect(bits(secondOut[i])).toEqual(bits(firstOut[i]));

    // The values themselves: the sum is exact in f32, sigmoid (bound to the same uniform as add) and the
    // convolution against float64 references.
    const [sum, prob, conv] = secondOut;
    for (let i = 0; i < sum.length; i++) expect(sum[i]).toBe(Math.fround(inputs.a[i] + inputs.b[i]));
    for (let i = 0; i < prob.length; i++) expect(prob[i]).toBeCloseTo(1 / (1 + Math.exp(-sum[i])), 6);
    const outSize = depthwiseOutputSize(SIZE, 1);
    const ref = channelsFirstDepthwise(inputs.a, inputs.filters.get(3) as Float32Array, inputs.bias, 3, outSize);
    let diff = 0;
    for (let i = 0; i < conv.length; i++) diff = Math.max(diff, Math.abs(conv[i] - ref[i]));
    expect(diff).toBeLessThan(1e-5);
    first.dispose();
    second.dispose();
  });

  it('each variant of a kernel is its own pipeline, compiled once per device', async () => {
    const rt = new GpuRuntime(device);
    await compute(rt, inputs, [3]);
    const before = rt.pipelinesCompiled;
    const [, , conv3, conv5] = await compute(rt, inputs, [3, 5]);
    // k = 5 is new to this device (no earlier test ran it); k = 3, add and sigmoid are not.
    expect(rt.pipelinesCompiled - before).toBe(1);
    expect(bits(conv3)).not.toEqual(bits(conv5));
    const k3 = compiledKernel(device, kernelVariant(depthwiseConv3dKernel, { k: 3, transposed: false }));
    const k5 = compiledKernel(device, kernelVariant(depthwiseConv3dKernel, { k: 5, transposed: false }));
    expect(k5.pipeline).not.toBe(k3.pipeline);
    expect(compiledKernel(device, kernelVariant(depthwiseConv3dKernel, { k: 5, transposed: false }))).toBe(k5);
    rt.dispose();
  });

  it('another device compiles its own pipelines and gives the same bits', async () => {
    const reference = await compute(new GpuRuntime(device), inputs, [3]);
    other = (await acquireGpuDevice()).device;
    expect(other).not.toBe(device);
    const rt = new GpuRuntime(other);
    const out = await compute(rt, inputs, [3]);
    expect(rt.pipelinesCompiled).toBe(3);
    for (let i = 0; i < out.length; i++) expect(bits(out[i])).toEqual(bits(reference[i]));
    const onFirst = compiledKernel(device, kernelVariant(addKernel, {}));
    const onOther = compiledKernel(other, kernelVariant(addKernel, {}));
    expect(onOther.pipeline).not.toBe(onFirst.pipeline);
    rt.dispose();
  });
});

/** Depthwise convolution (stride 1, zero padding k//2) of channels-first data through the float64 reference. */
function channelsFirstDepthwise(
  x: Float32Array,
  filter: Float32Array,
  bias: Float32Array,
  k: number,
  outSize: V3,
): Float64Array {
  const out = new Float64Array(C * outSize[0] * outSize[1] * outSize[2]);
  const r = (k - 1) / 2;
  const [D, H, W] = SIZE;
  for (let c = 0; c < C; c++)
    for (let d = 0; d < D; d++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) {
          let acc = bias[c];
          for (let i = 0; i < k; i++)
            for (let j = 0; j < k; j++)
              for (let l = 0; l < k; l++) {
                const [zd, zh, zw] = [d + i - r, h + j - r, w + l - r];
                if (zd < 0 || zh < 0 || zw < 0 || zd >= D || zh >= H || zw >= W) continue;
                acc += x[c * VOX + (zd * H + zh) * W + zw] * filter[c * k ** 3 + (i * k + j) * k + l];
              }
          out[c * VOX + (d * H + h) * W + w] = acc;
        }
  return out;
}
