import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend, type BackendName } from '@mednext-ts/tensor3d';
import { MedNeXt, bceWithLogits, loadStateDict, toNcdhw, toNdhwc, type MedNeXtConfig } from '../src/index.js';
import { FIXTURES, closeness, readNpyTensor, readSafetensors } from './helpers.js';

const DIR = path.join(FIXTURES, 'config_a');

/**
 * config_a forward (all 5 outputs) and a few BCE gradients on another backend, README tolerances. A backend that
 * fails to initialise fails here (selectBackend throws with the reason) rather than skipping.
 */
async function checkBackend(name: BackendName): Promise<void> {
  const choice = await selectBackend(name);
  expect(choice.backend).toBe(name);
  const config = JSON.parse(fs.readFileSync(path.join(DIR, 'config.json'), 'utf8')) as MedNeXtConfig;
  const model = MedNeXt.create(config);
  loadStateDict(model, readSafetensors(path.join(DIR, 'weights.safetensors')).tensors);
  const x = toNdhwc(readNpyTensor(path.join(DIR, 'input.npy')) as tf.Tensor5D);
  const outs = tf.tidy(() => model.forward(x).map((o) => toNcdhw(o)));
  // Read back asynchronously: webgpu under Node has no synchronous readback.
  const names = ['output_main', 'output_ds1', 'output_ds2', 'output_ds3', 'output_ds4'];
  for (let i = 0; i < names.length; i++) {
    const ref = readNpyTensor(path.join(DIR, `${names[i]}.npy`));
    const { ratio, maxAbs } = closeness(await outs[i].data(), await ref.data(), 1e-4, 1e-4);
    expect(ratio, `${name} ${names[i]}: max abs diff ${maxAbs}`).toBeLessThanOrEqual(1);
  }
  const target = toNdhwc(readNpyTensor(path.join(DIR, 'train_target.npy')) as tf.Tensor5D);
  const { grads } = model.valueAndGrads(() => bceWithLogits(model.forward(x, { training: true })[0], target));
  const ref = readSafetensors(path.join(DIR, 'train_grads_bce.safetensors')).tensors;
  for (const key of ['stem.weight', 'enc_block_0.0.conv1.weight', 'up_0.conv1.weight', 'down_0.res_conv.weight']) {
    const r = ref.get(key)!;
    const maxRef = r.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const { maxAbs } = closeness(await grads.get(key)!.data(), r.data, 0, 0);
    expect(maxAbs, `${name} grad ${key}`).toBeLessThanOrEqual(1e-3 * maxRef + 1e-7);
  }
  tf.dispose([x, target, ...outs, ...grads.values()]);
  model.dispose();
  await tf.setBackend('cpu');
}

describe('other tfjs backends (config_a, forward + gradients)', () => {
  it('wasm', async () => {
    await checkBackend('wasm');
  });
  // Dawn over Mesa's OpenGL ES serves WebGPU on a machine without a GPU, so an adapter is expected everywhere the
  // tests run; MEDNEXT_SKIP_WEBGPU is the explicit, visible opt-out for machines without Mesa's EGL.
  it.skipIf(Boolean(process.env.MEDNEXT_SKIP_WEBGPU))('webgpu (Dawn; MEDNEXT_SKIP_WEBGPU opts out)', async () => {
    await checkBackend('webgpu');
  });
});
