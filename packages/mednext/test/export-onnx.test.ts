import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MedNeXt,
  ONNX_OUTPUT_NAMES,
  buildMedNeXtOnnx,
  getStateDict,
  mednextToOnnx,
  modelToOnnx,
  toNcdhw,
  toNdhwc,
  type MedNeXtConfig,
  type StateDict,
} from '../src/index.js';
import { ProtoWriter } from '../src/export/protobuf.js';
import { FIXTURES, closeness, readNpyTensor, readSafetensors, useBackend } from './helpers.js';

/** Runs an exported model in onnxruntime-node on an NCDHW input; returns the outputs in graph order. */
async function runOrt(bytes: Uint8Array, x: tf.Tensor): Promise<{ dims: readonly number[]; data: Float32Array }[]> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const feeds = { input: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) };
  const result = await session.run(feeds);
  const out = session.outputNames.map((n) => ({ dims: result[n].dims, data: result[n].data as Float32Array }));
  await session.release();
  return out;
}

/** Our tfjs forward, NCDHW in and out. */
function forwardNcdhw(model: MedNeXt, x: tf.Tensor, deepSupervision: boolean): tf.Tensor[] {
  return tf.tidy(() => model.forward(toNdhwc(x as tf.Tensor5D), { deepSupervision }).map((o) => toNcdhw(o)));
}

/** Largest |a−b| relative to the largest |b| (a scale-aware 'relative' error for logits near 0). */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

describe('protobuf writer', () => {
  it('encodes varints, negative int64, floats and length-delimited fields as the wire format says', () => {
    expect([...new ProtoWriter().varint(1).finish()]).toEqual([1]);
    // The protobuf encoding guide's example: 150 → 96 01, and 300 → ac 02.
    expect([...new ProtoWriter().varint(150).finish()]).toEqual([0x96, 0x01]);
    expect([...new ProtoWriter().varint(300).finish()]).toEqual([0xac, 0x02]);
    // Above 2^32 (a >4 GB length must not wrap).
    expect([...new ProtoWriter().varint(2 ** 35).finish()]).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    // int64 −1 is ten bytes (64-bit two's complement).
    expect([...new ProtoWriter().int64(-1).finish()]).toEqual([...new Array(9).fill(0xff), 0x01]);
    // field 1, wire type 0: key 08.
    expect([...new ProtoWriter().intField(1, 150).finish()]).toEqual([0x08, 0x96, 0x01]);
    // field 2 string "testing": key 12, length 07.
    expect([...new ProtoWriter().stringField(2, 'testing').finish()]).toEqual([
      0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67,
    ]);
    // field 2, wire type 5, 1.0f = 00 00 80 3f.
    expect([...new ProtoWriter().floatField(2, 1).finish()]).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    // packed repeated int64 [3, 270]: key (4<<3|2) = 22, length 3, 03 8e 02.
    expect([...new ProtoWriter().packedInt64Field(4, [3, 270]).finish()]).toEqual([0x22, 0x03, 0x03, 0x8e, 0x02]);
    expect(() => new ProtoWriter().varint(-1)).toThrow(/non-negative/);
  });
});

describe('MedNeXt → ONNX, run in onnxruntime-node', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('config_a (official weights): ORT reproduces the official PyTorch outputs, all 5 DS heads', async () => {
    const dir = path.join(FIXTURES, 'config_a');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as MedNeXtConfig;
    const weights = readSafetensors(path.join(dir, 'weights.safetensors')).tensors;
    const bytes = mednextToOnnx(config, weights, { deepSupervision: true });
    const x = readNpyTensor(path.join(dir, 'input.npy'));
    const outs = await runOrt(bytes, x);
    expect(outs.length).toBe(5);
    ['output_main', 'output_ds1', 'output_ds2', 'output_ds3', 'output_ds4'].forEach((name, i) => {
      const ref = readNpyTensor(path.join(dir, `${name}.npy`));
      expect([...outs[i].dims]).toEqual(ref.shape);
      // The fixture README's output tolerance: |a − b| ≤ 1e-4 + 1e-4·|b|.
      const { ratio, maxAbs } = closeness(outs[i].data, ref.dataSync(), 1e-4, 1e-4);
      expect(ratio, `${name}: max abs diff ${maxAbs}`).toBeLessThanOrEqual(1);
      ref.dispose();
    });
    x.dispose();
  });

  it('k5, GRN, per-stage exp_r, uneven block counts, no residuals: ORT matches our tfjs forward to 1e-4', async () => {
    const config: MedNeXtConfig = {
      in_channels: 2,
      n_channels: 4,
      n_classes: 2,
      exp_r: [2, 3, 2, 2, 3, 2, 2, 3, 2],
      kernel_size: 5,
      deep_supervision: true,
      do_res: false,
      do_res_up_down: false,
      block_counts: [1, 2, 1, 1, 1, 1, 2, 1, 1],
      grn: true,
    };
    const model = MedNeXt.create(config, { seed: 11 });
    // GRN gamma/beta start at zero (GRN would be the identity); give them values so the GRN path counts.
    for (const [name, v] of model.params) {
      if (name.includes('grn_')) v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', name.length));
    }
    const x = tf.randomNormal([1, 2, 16, 32, 48], 0, 1, 'float32', 5);
    const ours = forwardNcdhw(model, x, true);
    const outs = await runOrt(modelToOnnx(model, { deepSupervision: true }), x);
    expect(outs.length).toBe(5);
    outs.forEach((o, i) => {
      expect([...o.dims]).toEqual(ours[i].shape);
      expect(relativeError(o.data, ours[i].dataSync()), ONNX_OUTPUT_NAMES[i]).toBeLessThanOrEqual(1e-4);
    });
    tf.dispose([x, ...ours]);
    model.dispose();
  });

  it('separate encoder/decoder kernels, fixed input shape, DS heads present but not exported', async () => {
    const config: MedNeXtConfig = {
      in_channels: 3,
      n_channels: 6,
      n_classes: 4,
      exp_r: 2,
      enc_kernel_size: 3,
      dec_kernel_size: 5,
      deep_supervision: true,
      do_res: true,
      do_res_up_down: true,
      block_counts: [1, 1, 1, 1, 2, 1, 1, 1, 1],
    };
    const model = MedNeXt.create(config, { seed: 3 });
    const x = tf.randomNormal([2, 3, 32, 16, 16], 0, 1, 'float32', 9);
    const ours = forwardNcdhw(model, x, false);
    const onnx = buildMedNeXtOnnx(config, getStateDict(model), { spatialShape: [32, 16, 16], batchSize: 2 });
    expect(onnx.graph.inputs[0].shape).toEqual([2, 3, 32, 16, 16]);
    expect(onnx.graph.outputs.map((o) => o.shape)).toEqual([[2, 4, 32, 16, 16]]);
    expect(onnx.graph.initializers.some((t) => t.name.startsWith('out_1.'))).toBe(false);
    const outs = await runOrt(modelToOnnx(model, { spatialShape: [32, 16, 16], batchSize: 2 }), x);
    expect(outs.length).toBe(1);
    expect([...outs[0].dims]).toEqual([2, 4, 32, 16, 16]);
    expect(relativeError(outs[0].data, ours[0].dataSync())).toBeLessThanOrEqual(1e-4);
    tf.dispose([x, ...ours]);
    model.dispose();
  });

  it('uses the operators of the official export (InstanceNormalization, grouped Conv/ConvTranspose, Erf, Pad)', () => {
    const dir = path.join(FIXTURES, 'config_a');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as MedNeXtConfig;
    const weights = readSafetensors(path.join(dir, 'weights.safetensors')).tensors;
    const { graph, opsetVersion } = buildMedNeXtOnnx(config, weights);
    expect(opsetVersion).toBe(17);
    const count = (op: string): number => graph.nodes.filter((n) => n.opType === op).length;
    // 9 blocks + 4 down + 4 up = 17 depthwise conv1; 4 of them transposed. 17 norms and GELUs.
    expect(count('InstanceNormalization')).toBe(17);
    expect(count('Erf')).toBe(17);
    expect(count('Pad')).toBe(4);
    // Transposed: 4 depthwise up conv1, 4 up res convs, 1 head.
    expect(count('ConvTranspose')).toBe(9);
    const up0 = graph.nodes.find((n) => n.name === 'up_0/conv1')!;
    expect(up0.opType).toBe('ConvTranspose');
    expect(up0.attributes?.group).toEqual({ type: 'int', value: 8 });
    expect(up0.attributes?.strides).toEqual({ type: 'ints', value: [2, 2, 2] });
    // Initializers keep the official names and PyTorch shapes; dummy_tensor and unused heads are left out.
    const stem = graph.initializers.find((t) => t.name === 'stem.weight')!;
    expect(stem.dims).toEqual([4, 4, 1, 1, 1]);
    expect(graph.initializers.some((t) => t.name === 'dummy_tensor' || t.name.startsWith('out_4.'))).toBe(false);
  });

  it('rejects missing or mis-shaped weights (listing them), DS without heads, and bad shapes', () => {
    const dir = path.join(FIXTURES, 'config_a');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as MedNeXtConfig;
    const weights = readSafetensors(path.join(dir, 'weights.safetensors')).tensors;
    const broken: StateDict = new Map(weights);
    broken.delete('up_2.conv1.weight');
    broken.set('stem.bias', { shape: [5], data: new Float32Array(5) });
    expect(() => mednextToOnnx(config, broken)).toThrow(
      /missing: up_2\.conv1\.weight; wrong shape: stem\.bias \(5, expected 4\)/,
    );
    expect(() => mednextToOnnx({ ...config, deep_supervision: false }, weights, { deepSupervision: true })).toThrow(
      /deep_supervision off/,
    );
    expect(() => mednextToOnnx(config, weights, { spatialShape: [32, 24, 32] })).toThrow(/multiples of 16/);
  });
});
