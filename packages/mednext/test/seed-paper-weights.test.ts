import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  MedNeXt,
  buildArchitecture,
  countParameters,
  describeInferredConfig,
  inferMedNeXtConfig,
  loadStateDict,
  networkWeights,
  parameterSpecs,
  parseWeights,
  readPth,
  resolveConfig,
  type MedNeXtConfig,
} from '../src/index.js';
import { FIXTURES } from './helpers.js';

// Made with the seed paper's own code (see fixtures/seed-paper/README.md).
const DIR = path.join(FIXTURES, 'seed-paper');
const read = (f: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(DIR, f)));

interface ShapeRecord {
  args: Record<string, unknown>;
  params: number;
  tensors: Array<[string, number[]]>;
}
const shapes = JSON.parse(gunzipSync(read('mednext-shapes.json.gz')).toString('utf8')) as Record<string, ShapeRecord>;

const PRESETS: Record<string, { exp: number[]; blocks: number[] }> = {
  S: { exp: [2, 2, 2, 2, 2, 2, 2, 2, 2], blocks: [2, 2, 2, 2, 2, 2, 2, 2, 2] },
  B: { exp: [2, 3, 4, 4, 4, 4, 4, 3, 2], blocks: [2, 2, 2, 2, 2, 2, 2, 2, 2] },
  M: { exp: [2, 3, 4, 4, 4, 4, 4, 3, 2], blocks: [3, 4, 4, 4, 4, 4, 4, 4, 3] },
  L: { exp: [3, 4, 8, 8, 8, 8, 8, 4, 3], blocks: [3, 4, 8, 8, 8, 8, 8, 4, 3] },
};

describe('architecture inference from tensor shapes', () => {
  for (const [name, rec] of Object.entries(shapes).filter(([n]) => n !== 'custom-w12')) {
    it(`recovers ${name} from the seed's create_mednext_v1 state dict`, () => {
      const map = new Map(rec.tensors.map(([n, s]) => [n, { shape: s }]));
      const inferred = inferMedNeXtConfig(map, name);
      const id = rec.args.model_id as string;
      expect(inferred.prefix).toBe('model.');
      expect(inferred.preset).toBe(id);
      expect(inferred.outside).toEqual([]);
      expect(inferred.config).toEqual({
        in_channels: 4,
        n_channels: 32,
        n_classes: 3,
        exp_r: PRESETS[id]!.exp,
        kernel_size: rec.args.kernel_size,
        deep_supervision: rec.args.deep_supervision,
        do_res: true,
        do_res_up_down: true,
        block_counts: PRESETS[id]!.blocks,
        grn: false,
      });
      // The seed's copy of MedNeXt has Conv3d output heads (OUT x IN), the official one ConvTranspose3d (IN x OUT).
      expect(inferred.headLayout).toBe('conv');
      // Our architecture built from the inferred config has exactly these names and shapes (heads transposed).
      const arch = buildArchitecture(resolveConfig(inferred.config));
      const ours = parameterSpecs(arch).map((p) => [
        `model.${p.name}`,
        p.name.includes('conv_out.weight') ? [p.shape[1], p.shape[0], 1, 1, 1] : p.shape,
      ]);
      expect(ours).toEqual(rec.tensors);
      expect(countParameters(arch)).toBe(rec.params);
    });
  }

  it('recovers a non-standard network (width 12, 5 in, 4 out, separate kernels, odd block counts, no res_conv)', () => {
    const rec = shapes['custom-w12']!;
    const inferred = inferMedNeXtConfig(new Map(rec.tensors.map(([n, s]) => [n, { shape: s }])));
    expect(inferred.preset).toBeNull();
    expect(inferred.config).toEqual({
      in_channels: 5,
      n_channels: 12,
      n_classes: 4,
      exp_r: [2, 3, 4, 4, 6, 4, 4, 3, 2],
      enc_kernel_size: 3,
      dec_kernel_size: 5,
      deep_supervision: false,
      do_res: true,
      do_res_up_down: false,
      block_counts: [1, 2, 3, 2, 1, 2, 3, 2, 1],
      grn: false,
    });
    expect(countParameters(buildArchitecture(resolveConfig(inferred.config)))).toBe(rec.params);
    expect(describeInferredConfig(inferred)).toMatch(/non-standard\) k3\/5 \(width 12, 5 in, 4 out;/);
  });

  it('recovers GRN and a DataParallel prefix from our own parameter list', () => {
    const config: MedNeXtConfig = {
      in_channels: 4,
      n_channels: 8,
      n_classes: 3,
      exp_r: 2,
      kernel_size: 3,
      grn: true,
      do_res: true,
      do_res_up_down: true,
    };
    const specs = parameterSpecs(buildArchitecture(resolveConfig(config)));
    const inferred = inferMedNeXtConfig(new Map(specs.map((p) => [`module.${p.name}`, { shape: p.shape }])));
    expect(inferred.prefix).toBe('module.');
    expect(inferred.headLayout).toBe('transposed');
    expect(inferred.config.grn).toBe(true);
    expect(inferred.config.exp_r).toEqual(new Array(9).fill(2));
  });

  it('names the file and the missing tensor when a state dict is not a MedNeXt', () => {
    expect(() => inferMedNeXtConfig(new Map([['encoder.weight', { shape: [2, 2] }]]), 'unet.ckpt')).toThrow(
      /unet\.ckpt: no 'stem\.weight' tensor/,
    );
    const partial = new Map(
      shapes['S-k3-ds1']!.tensors.filter(([n]) => !n.startsWith('model.out_0')).map(([n, s]) => [n, { shape: s }]),
    );
    expect(() => inferMedNeXtConfig(partial, 'cut.ckpt')).toThrow(
      /cut\.ckpt: tensor 'model\.out_0\.conv_out\.bias' is missing/,
    );
  });
});

describe('Lightning checkpoints of the seed code', () => {
  it('reads the schedule-free training checkpoint: state_dict with the model. prefix, optimizer state ignored', () => {
    const ck = readPth(read('model-b3.ckpt'), 'model-b3.ckpt');
    expect(ck.location).toBe('state_dict');
    const first = [...ck.tensors.keys()][0];
    expect(first).toBe('model.dummy_tensor');
    expect(ck.tensors.size).toBe(237);
    const net = networkWeights(parseWeights(read('model-b3.ckpt'), 'model-b3.ckpt'), 'model-b3.ckpt');
    expect(net.inferred?.prefix).toBe('model.');
    expect(net.config).toMatchObject({
      n_channels: 2,
      kernel_size: 3,
      deep_supervision: true,
      exp_r: PRESETS.B!.exp,
      block_counts: PRESETS.B!.blocks,
    });
    const model = MedNeXt.create(net.config);
    const report = loadStateDict(model, net.tensors, { source: 'model-b3.ckpt' });
    expect(report.missing).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(report.mismatched).toEqual([]);
    // every network tensor of the checkpoint was copied (dummy_tensor only if the model has one)
    expect(report.loaded.length).toBeGreaterThanOrEqual(236);
    model.dispose();
  });

  it('reads a weights-only checkpoint of another size (S k5, no deep supervision)', () => {
    const net = networkWeights(parseWeights(read('model-s5.ckpt'), 'model-s5.ckpt'), 'model-s5.ckpt');
    expect(net.config).toMatchObject({ n_channels: 2, kernel_size: 5, deep_supervision: false, exp_r: PRESETS.S!.exp });
    const model = MedNeXt.create(net.config);
    expect(loadStateDict(model, net.tensors).unexpected).toEqual([]);
    model.dispose();
  });
});
