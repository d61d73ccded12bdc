import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MedNeXt,
  buildArchitecture,
  configFromMetadata,
  configToMetadata,
  countParameters,
  getStateDict,
  loadStateDict,
  parseNpy,
  parseSafetensors,
  presetConfig,
  readStateDict,
  resolveConfig,
  serializeNpy,
  serializeSafetensors,
  type PresetName,
} from '../src/index.js';
import { FIXTURES, useBackend } from './helpers.js';

const A = path.join(FIXTURES, 'config_a');

describe('.npy', () => {
  it('reads the fixture input (<f4, 1x4x32x32x32) and round-trips', () => {
    const a = parseNpy(fs.readFileSync(path.join(A, 'input.npy')));
    expect(a.shape).toEqual([1, 4, 32, 32, 32]);
    expect(a.dtype).toBe('<f4');
    const back = parseNpy(serializeNpy(a.data, a.shape));
    expect(back.shape).toEqual(a.shape);
    expect(back.data).toEqual(a.data);
    // NumPy aligns the data to 64 bytes.
    expect((serializeNpy(new Float32Array(3), [3]).length - 12) % 64).toBe(0);
  });

  it('converts other dtypes and rejects bad files with the source name', () => {
    const header = "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }";
    const bytes = new Uint8Array(10 + header.length + 6);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(bytes.buffer).setUint16(8, header.length, true);
    bytes.set(new TextEncoder().encode(header), 10);
    new DataView(bytes.buffer).setInt16(10 + header.length, -7, true);
    expect(Array.from(parseNpy(bytes).data)).toEqual([-7, 0, 0]);
    expect(() => parseNpy(new Uint8Array(20), 'x.npy')).toThrow(/x\.npy: not a NumPy/);
    expect(() => parseNpy(bytes.subarray(0, bytes.length - 2), 'y.npy')).toThrow(/y\.npy: truncated/);
    expect(() => serializeNpy(new Float32Array(5), [2, 2])).toThrow(/needs 4 values/);
  });
});

describe('.safetensors', () => {
  it('reads the official state dict in PyTorch order with metadata', () => {
    const f = parseSafetensors(fs.readFileSync(path.join(A, 'weights.safetensors')));
    expect(f.tensors.size).toBe(165);
    const names = [...f.tensors.keys()];
    expect(names.slice(0, 4)).toEqual(['dummy_tensor', 'stem.weight', 'stem.bias', 'enc_block_0.0.conv1.weight']);
    expect(f.tensors.get('up_1.res_conv.weight')!.shape).toEqual([16, 8, 1, 1, 1]);
    expect(configFromMetadata(f.metadata)).toMatchObject({ in_channels: 4, exp_r: 2, deep_supervision: true });
  });

  it('our parameter list has exactly the official names, order and shapes', () => {
    const f = parseSafetensors(fs.readFileSync(path.join(A, 'weights.safetensors')));
    const config = JSON.parse(fs.readFileSync(path.join(A, 'config.json'), 'utf8'));
    const specs = buildArchitecture(resolveConfig(config));
    const ours = countParameters(specs);
    expect(ours).toBe(69_784);
    const listed = [...f.tensors.entries()].map(([n, t]) => `${n}:${t.shape.join('x')}`);
    const model = MedNeXt.create(config);
    const mine = model.parameterSpecs().map((s) => `${s.name}:${s.shape.join('x')}`);
    expect(mine).toEqual(listed);
    model.dispose();
  });

  it('round-trips F32 tensors and metadata; reads F16/BF16/F64', () => {
    const sd = new Map([
      ['a', { shape: [2, 2], data: new Float32Array([1, -2, 3.5, 4]) }],
      ['b.c', { shape: [1], data: new Float32Array([0.25]) }],
    ]);
    const bytes = serializeSafetensors(sd, { note: 'x' });
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
    const back = parseSafetensors(bytes);
    expect([...back.tensors.keys()]).toEqual(['a', 'b.c']);
    expect(Array.from(back.tensors.get('a')!.data)).toEqual([1, -2, 3.5, 4]);
    expect(back.metadata).toEqual({ note: 'x' });
    // Hand-made file: F16 1.5 (0x3e00), BF16 -2 (0xc000), F64 0.1.
    const header = JSON.stringify({
      h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [2, 4] },
      d: { dtype: 'F64', shape: [1], data_offsets: [4, 12] },
    });
    const raw = new Uint8Array(8 + header.length + 12);
    const v = new DataView(raw.buffer);
    v.setBigUint64(0, BigInt(header.length), true);
    raw.set(new TextEncoder().encode(header), 8);
    v.setUint16(8 + header.length, 0x3e00, true);
    v.setUint16(10 + header.length, 0xc000, true);
    v.setFloat64(12 + header.length, 0.1, true);
    const p = parseSafetensors(raw);
    expect(p.tensors.get('h')!.data[0]).toBe(1.5);
    expect(p.tensors.get('b')!.data[0]).toBe(-2);
    expect(p.tensors.get('d')!.data[0]).toBeCloseTo(0.1, 7);
    expect(() => parseSafetensors(raw.subarray(0, raw.length - 4), 'w.safetensors')).toThrow(
      /w\.safetensors: tensor 'd'.*bad data_offsets/,
    );
  });
});

describe('state dict loading', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });
  const config = { ...presetConfig('S'), n_channels: 4, block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1] };

  it('strict mode lists missing, unexpected and mis-shaped tensors and copies nothing', () => {
    const model = MedNeXt.create(config, { seed: 1 });
    const sd = getStateDict(MedNeXt.create(config, { seed: 2 }));
    const before = Array.from(model.params.get('stem.weight')!.dataSync());
    sd.delete('down_1.conv2.bias');
    sd.set('extra.weight', { shape: [1], data: new Float32Array(1) });
    sd.set('stem.bias', { shape: [5], data: new Float32Array(5) });
    expect(() => loadStateDict(model, sd, { source: 'ck.safetensors' })).toThrow(
      /ck\.safetensors does not match the model: missing 1: down_1\.conv2\.bias; unexpected 1: extra\.weight; wrong shape 1: stem\.bias \(expected 4, found 5\)/,
    );
    expect(Array.from(model.params.get('stem.weight')!.dataSync())).toEqual(before);
    const report = loadStateDict(model, sd, { strict: false });
    expect(report.missing).toEqual(['down_1.conv2.bias']);
    expect(report.unexpected).toEqual(['extra.weight']);
    expect(report.mismatched).toEqual([{ name: 'stem.bias', expected: [4], found: [5] }]);
    expect(Array.from(model.params.get('stem.weight')!.dataSync())).toEqual(Array.from(sd.get('stem.weight')!.data));
    model.dispose();
  });

  it('a DS-trained checkpoint loads into a model without DS heads (heads ignored), module. prefix stripped', () => {
    const ds = MedNeXt.create({ ...config, deep_supervision: true });
    const plain = MedNeXt.create(config);
    const sd = new Map([...getStateDict(ds)].map(([k, v]) => [`module.${k}`, v]));
    const report = loadStateDict(plain, sd);
    expect(report.ignoredHeads.length).toBe(8);
    expect(report.loaded.length).toBe(plain.params.size);
    ds.dispose();
    plain.dispose();
  });

  it('save → load round trip through safetensors keeps every value and the config', async () => {
    const a = MedNeXt.create(config, { seed: 5 });
    const bytes = serializeSafetensors(getStateDict(a), configToMetadata(a.config));
    const file = parseSafetensors(bytes);
    const b = MedNeXt.create(configFromMetadata(file.metadata)!);
    loadStateDict(b, file.tensors);
    const asyncRead = await readStateDict(a);
    expect([...asyncRead.keys()]).toEqual([...a.params.keys()]);
    expect(asyncRead.get('stem.weight')!.data).toEqual(getStateDict(a).get('stem.weight')!.data);
    for (const [name, v] of a.params)
      expect(Array.from(b.params.get(name)!.dataSync()), name).toEqual(Array.from(v.dataSync()));
    a.dispose();
    b.dispose();
  });
});

describe('presets', () => {
  // Spec §2.2 (in 4, classes 3, dummy_tensor included).
  const table: Array<[PresetName, number, number, number]> = [
    ['S', 3, 5_551_044, 5_553_936],
    ['B', 3, 10_526_436, 10_529_328],
    ['M', 3, 17_549_092, 17_551_984],
    ['L', 3, 61_779_396, 61_782_288],
    ['S', 5, 5_980_676, 5_983_568],
    ['B', 5, 10_956_068, 10_958_960],
    ['M', 5, 18_260_964, 18_263_856],
    ['L', 5, 62_993_028, 62_995_920],
  ];
  for (const [preset, k, off, on] of table) {
    it(`MedNeXt-${preset} k${k}: ${off} / ${on} parameters`, () => {
      const count = (ds: boolean): number =>
        countParameters(buildArchitecture(resolveConfig(presetConfig(preset, { kernelSize: k, deepSupervision: ds }))));
      expect(count(false)).toBe(off);
      expect(count(true)).toBe(on);
    });
  }

  it('config validation names the field', () => {
    expect(() => resolveConfig({ ...presetConfig('B'), kernel_size: 4 })).toThrow(/'kernel_size' must be odd/);
    expect(() => resolveConfig({ ...presetConfig('B'), exp_r: [1, 2] })).toThrow(
      /'exp_r' must be a number or a list of 9/,
    );
    expect(() => resolveConfig({ ...presetConfig('B'), norm_type: 'layer' })).toThrow(/norm_type 'layer'/);
  });
});
