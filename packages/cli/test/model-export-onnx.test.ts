import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseNpy } from '@mednext-ts/mednext';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { mednext, tempDir } from './cli-helpers.js';

// The official config_a fixture kept by the mednext package (weights + PyTorch outputs).
const fixture = fileURLToPath(new URL('../../mednext/test/fixtures/config_a/', import.meta.url));

const tmp = tempDir('mednext-onnx-test-');

describe('mednext model export-onnx', () => {
  it('exports the official fixture weights; onnxruntime reproduces the PyTorch output (fixed shape)', async () => {
    const out = path.join(tmp, 'a.onnx');
    const { stdout } = await mednext([
      'model',
      'export-onnx',
      '--config',
      path.join(fixture, 'config.json'),
      '--model',
      path.join(fixture, 'weights.safetensors'),
      '--out',
      out,
      '--shape',
      '32x32x32',
    ]);
    expect(stdout).toMatch(/wrote .*a\.onnx/);
    const session = await ort.InferenceSession.create(out);
    expect(session.outputNames).toEqual(['output']);
    const x = parseNpy(await readFile(path.join(fixture, 'input.npy')));
    const result = await session.run({ input: new ort.Tensor('float32', x.data, x.shape) });
    const ref = parseNpy(await readFile(path.join(fixture, 'output_main.npy')));
    const got = result.output.data as Float32Array;
    expect([...result.output.dims]).toEqual(ref.shape);
    let worst = 0;
    // fixture README tolerance: |a − b| ≤ 1e-4 + 1e-4·|b|
    for (let i = 0; i < got.length; i++)
      worst = Math.max(worst, Math.abs(got[i] - ref.data[i]) / (1e-4 + 1e-4 * Math.abs(ref.data[i])));
    expect(worst).toBeLessThanOrEqual(1);
    await session.release();
  });

  it('takes the config from the safetensors metadata and reports bad flags clearly', async () => {
    const out = path.join(tmp, 'b.onnx');
    await mednext([
      'model',
      'export-onnx',
      '--model',
      path.join(fixture, 'weights.safetensors'),
      '--out',
      out,
      '--deep-supervision',
    ]);
    const session = await ort.InferenceSession.create(out);
    expect(session.outputNames).toEqual(['output', 'output_ds1', 'output_ds2', 'output_ds3', 'output_ds4']);
    await session.release();
    await expect(
      mednext([
        'model',
        'export-onnx',
        '--model',
        path.join(fixture, 'weights.safetensors'),
        '--out',
        out,
        '--shape',
        '32x24',
      ]),
    ).rejects.toThrow(/--shape must be DxHxW/);
    // The old name of --model still works, warns, and exports the same model.
    const old = path.join(tmp, 'old-name.onnx');
    const { stderr } = await mednext([
      'model',
      'export-onnx',
      '--weights',
      path.join(fixture, 'weights.safetensors'),
      '--out',
      old,
      '--deep-supervision',
    ]);
    expect(stderr).toMatch(/"--weights" flag has been deprecated\. Use "--model/);
    expect((await readFile(old)).equals(await readFile(out))).toBe(true);
    await expect(
      mednext([
        'model',
        'export-onnx',
        '--model',
        path.join(fixture, 'weights.safetensors'),
        '--out',
        out,
        '--shape',
        '32x24x32',
      ]),
    ).rejects.toThrow(/multiples of 16/);
  });
});
