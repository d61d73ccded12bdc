import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { registerFastKernels, selectBackend, unregisterFastKernels } from '@mednext-ts/tensor3d';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FusedBlockWeights,
  MedNeXt,
  buildArchitecture,
  fusedBlockSupports,
  fusedBlocksUsable,
  loadStateDict,
  resolveConfig,
  runBlock,
  runFusedBlock,
  toNcdhw,
  toNdhwc,
  type BlockSpec,
  type MedNeXtConfig,
} from '../src/index.js';
import {
  FIXTURES,
  closeness,
  expectClose,
  readNpyTensor,
  readSafetensors,
  sharedFixtures,
  useBackend,
} from './helpers.js';

// The fixtures' tolerance (README): |a − b| ≤ 1e-4 + 1e-4·|b|; the same between the fused and composite paths.
const ATOL = 1e-4;
const RTOL = 1e-4;

/** Kernels that only the composite path dispatches (the fused block runs its depthwise conv inside WebAssembly). */
const COMPOSITE_ONLY = ['DepthwiseConv3D', 'DepthwiseConv3DBackpropInput'];

function loadFixtureModel(dir: string): { model: MedNeXt; x: tf.Tensor5D } {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as MedNeXtConfig;
  const model = MedNeXt.create(config, { seed: 3 });
  loadStateDict(model, readSafetensors(path.join(dir, 'weights.safetensors')).tensors);
  return { model, x: toNdhwc(readNpyTensor(path.join(dir, 'input.npy')) as tf.Tensor5D) };
}

/** The kernels a forward dispatched, and its outputs (NCDHW). */
async function profiledForward(
  model: MedNeXt,
  x: tf.Tensor5D,
  fused: boolean,
): Promise<{ outputs: tf.Tensor[]; kernels: string[] }> {
  let outputs: tf.Tensor[] = [];
  const info = await tf.profile(() => {
    outputs = tf.tidy(() => model.forward(x, { fused }).map((o) => toNcdhw(o)));
    return outputs;
  });
  return { outputs, kernels: info.kernelNames };
}

describe('fused MedNeXt blocks (cpu + fast kernels)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    registerFastKernels({ backends: ['cpu'] });
  });
  afterAll(() => {
    unregisterFastKernels();
  });

  it('are used only with the fast kernels on, and only for the blocks the kernel implements', () => {
    expect(fusedBlocksUsable()).toBe(true);
    const block: BlockSpec = {
      name: 'b',
      kind: 'block',
      cIn: 8,
      cOut: 8,
      expR: 2,
      kernel: 3,
      residual: true,
      grn: false,
    };
    expect(fusedBlockSupports(block)).toBe(true);
    expect(fusedBlockSupports({ ...block, grn: true })).toBe(false);
    expect(fusedBlockSupports({ ...block, cIn: 6, cOut: 6 })).toBe(false);
    expect(fusedBlockSupports({ ...block, kind: 'down', cOut: 6 })).toBe(false);
    unregisterFastKernels();
    try {
      expect(fusedBlocksUsable()).toBe(false);
    } finally {
      registerFastKernels({ backends: ['cpu'] });
    }
  });

  it('config_a: the fused forward matches the official outputs and dispatches no composite depthwise conv', async () => {
    const dir = path.join(FIXTURES, 'config_a');
    const { model, x } = loadFixtureModel(dir);
    const { outputs, kernels } = await profiledForward(model, x, true);
    expect(kernels.filter((k) => COMPOSITE_ONLY.includes(k))).toEqual([]);
    ['output_main', 'output_ds1', 'output_ds2', 'output_ds3', 'output_ds4'].forEach((name, i) => {
      const ref = readNpyTensor(path.join(dir, `${name}.npy`));
      expectClose(outputs[i], ref, name);
      ref.dispose();
    });
    // The composite path (fused: false) does run the depthwise kernels: the check above can fail.
    const composite = await profiledForward(model, x, false);
    expect(composite.kernels).toContain('DepthwiseConv3D');
    expect(composite.kernels).toContain('DepthwiseConv3DBackpropInput');
    tf.dispose([x, ...outputs, ...composite.outputs]);
    model.dispose();
  });

  const shared = sharedFixtures();
  it.runIf(shared !== null)('config_b (exp_r list, 2 blocks per stage): fused output matches', async () => {
    const dir = path.join(shared as string, 'config_b');
    const { model, x } = loadFixtureModel(dir);
    const { outputs, kernels } = await profiledForward(model, x, true);
    expect(kernels.filter((k) => COMPOSITE_ONLY.includes(k))).toEqual([]);
    const ref = readNpyTensor(path.join(dir, 'output_main.npy'));
    expectClose(outputs[0], ref, 'output_main');
    tf.dispose([x, ref, ...outputs]);
    model.dispose();
  });

  it('k5 with 12 channels, non-cubic input: fused equals composite for every block kind', () => {
    const config: MedNeXtConfig = {
      in_channels: 3,
      n_channels: 12,
      n_classes: 2,
      exp_r: [2, 3, 4, 4, 2, 4, 4, 3, 2],
      kernel_size: 5,
      deep_supervision: false,
      do_res: true,
      do_res_up_down: true,
      block_counts: [1, 2, 1, 1, 1, 1, 1, 2, 1],
    };
    const model = MedNeXt.create(config, { seed: 11 });
    const x = tf.randomNormal([1, 16, 32, 48, 3], 0, 1, 'float32', 5) as tf.Tensor5D;
    const [fused] = model.forward(x, { fused: true });
    const [composite] = model.forward(x, { fused: false });
    expectClose(fused, composite, 'main output');
    // and block by block, so a kind that cancels out in the whole network still shows
    const arch = buildArchitecture(resolveConfig(config));
    const p = (name: string): tf.Tensor => model.params.get(name) as tf.Tensor;
    const cache = new FusedBlockWeights();
    const cases: Array<[BlockSpec, number[]]> = [
      [arch.encoders[0][0], [1, 8, 10, 6, 12]],
      [arch.downs[0], [2, 9, 10, 7, 12]],
      [arch.ups[3], [1, 5, 4, 6, 24]],
    ];
    for (const [b, shape] of cases) {
      const h = tf.randomNormal(shape, 0, 1, 'float32', 9) as tf.Tensor5D;
      const a = runFusedBlock(h, b, p, cache);
      expect(a, `${b.name} ran fused`).not.toBeNull();
      const r = runBlock(h, b, p);
      expectClose(a as tf.Tensor, r, b.name);
      tf.dispose([h, a as tf.Tensor, r]);
    }
    tf.dispose([x, fused, composite]);
    model.dispose();
  });

  it('reconverts a block whose weights changed after a forward (no stale cache)', () => {
    const config: MedNeXtConfig = {
      in_channels: 4,
      n_channels: 4,
      n_classes: 2,
      exp_r: 2,
      kernel_size: 3,
      deep_supervision: false,
      do_res: true,
      do_res_up_down: true,
      block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
    };
    const model = MedNeXt.create(config, { seed: 2 });
    const x = tf.randomNormal([1, 16, 16, 16, 4], 0, 1, 'float32', 8) as tf.Tensor5D;
    const [before] = model.forward(x);
    const w = model.params.get('enc_block_0.0.conv3.weight') as tf.Variable;
    w.assign(tf.mul(w, 3));
    const [after] = model.forward(x);
    const [composite] = model.forward(x, { fused: false });
    expect(closeness(after.dataSync(), before.dataSync(), ATOL, RTOL).ratio).toBeGreaterThan(1);
    expectClose(after, composite, 'after assign');
    tf.dispose([x, before, after, composite]);
    model.dispose();
  });

  it('GRN models and gradient tapes keep the composite path with the same values', async () => {
    const config: MedNeXtConfig = {
      in_channels: 4,
      n_channels: 4,
      n_classes: 2,
      exp_r: 2,
      kernel_size: 3,
      deep_supervision: false,
      do_res: true,
      do_res_up_down: true,
      block_counts: [1, 1, 1, 1, 1, 1, 1, 1, 1],
      grn: true,
    };
    const model = MedNeXt.create(config, { seed: 4 });
    const x = tf.randomNormal([1, 16, 16, 16, 4], 0, 1, 'float32', 1) as tf.Tensor5D;
    const grnRun = await profiledForward(model, x, true);
    expect(grnRun.kernels).toContain('DepthwiseConv3D');
    tf.dispose(grnRun.outputs);
    model.dispose();
    // under a gradient tape: training path, gradients flow to conv1 (the fused kernel has none)
    const plain = MedNeXt.create({ ...config, grn: false }, { seed: 4 });
    const { value, grads } = plain.valueAndGrads(() => tf.mean(plain.forward(x)[0]) as tf.Scalar);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(grads.has('enc_block_0.0.conv1.weight')).toBe(true);
    tf.dispose([x, value, ...grads.values()]);
    plain.dispose();
  });
});

describe('fused MedNeXt blocks on the wasm backend', () => {
  afterAll(async () => {
    unregisterFastKernels();
    await useBackend('cpu');
  });

  it('config_a: fused forward on wasm matches the official outputs', async () => {
    // a wasm backend that fails to start fails this test (BackendUnavailableError says why), it is not skipped
    const choice = await selectBackend('wasm', { fastKernels: { threads: 1 } });
    expect(choice.backend).toBe('wasm');
    expect(fusedBlocksUsable()).toBe(true);
    const dir = path.join(FIXTURES, 'config_a');
    const { model, x } = loadFixtureModel(dir);
    const { outputs, kernels } = await profiledForward(model, x, true);
    expect(kernels.filter((k) => COMPOSITE_ONLY.includes(k))).toEqual([]);
    for (const [i, name] of ['output_main', 'output_ds1', 'output_ds2', 'output_ds3', 'output_ds4'].entries()) {
      const ref = readNpyTensor(path.join(dir, `${name}.npy`));
      expectClose(outputs[i], ref, `wasm ${name}`);
      ref.dispose();
    }
    tf.dispose([x, ...outputs]);
    model.dispose();
  });
});
