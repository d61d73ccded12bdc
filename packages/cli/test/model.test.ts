import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '@mednext-ts/mednext';
import { mednextExit, tempDir } from './cli-helpers.js';

const FIX = fileURLToPath(new URL('../../mednext/test/fixtures/', import.meta.url));
const A = path.join(FIX, 'config_a');

const tmp = tempDir('cli-model-');

/** README tolerance of the fixtures: |a − b| ≤ 1e-4 + 1e-4·|b|. */
function expectClose(file: string, reference: string): void {
  const a = parseNpy(readFileSync(file));
  const b = parseNpy(readFileSync(reference));
  expect(a.shape).toEqual(b.shape);
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) {
    worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]) / (1e-4 + 1e-4 * Math.abs(b.data[i])));
  }
  expect(worst, file).toBeLessThanOrEqual(1);
}

describe('mednext model run', () => {
  it('config_a from safetensors (config from its metadata): 5 outputs match the official ones', async () => {
    const out = path.join(tmp, 'a');
    const r = await mednextExit(
      'model',
      'run',
      '--model',
      path.join(A, 'weights.safetensors'),
      '--input',
      path.join(A, 'input.npy'),
      '--out',
      out,
      '--backend',
      'cpu',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('output_ds4.npy  1x3x2x2x2');
    for (const name of ['output_main', 'output_ds1', 'output_ds2', 'output_ds3', 'output_ds4']) {
      expectClose(path.join(out, `${name}.npy`), path.join(A, `${name}.npy`));
    }
  });

  it('config_a from a PyTorch checkpoint with --config, deep supervision switched off', async () => {
    const out = path.join(tmp, 'b');
    const r = await mednextExit(
      'model',
      'run',
      '--config',
      path.join(A, 'config.json'),
      '--model',
      path.join(FIX, 'config_a_checkpoint.pth'),
      '--input',
      path.join(A, 'input.npy'),
      '--out',
      out,
      '--backend',
      'cpu',
      '--no-deep-supervision',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').length).toBe(1);
    expectClose(path.join(out, 'output_main.npy'), path.join(A, 'output_main.npy'));
  });

  it('still takes the old --weights (and -m) for the checkpoint file, warning about --weights only', async () => {
    const old = path.join(tmp, 'old-name');
    const r = await mednextExit(
      'model',
      'run',
      '--weights',
      path.join(A, 'weights.safetensors'),
      '--input',
      path.join(A, 'input.npy'),
      '--out',
      old,
      '--backend',
      'cpu',
      '--no-deep-supervision',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/"--weights" flag has been deprecated\. Use "--model/);
    expectClose(path.join(old, 'output_main.npy'), path.join(A, 'output_main.npy'));
    const short = path.join(tmp, 'short-name');
    const s = await mednextExit(
      'model',
      'run',
      '-m',
      path.join(A, 'weights.safetensors'),
      '--input',
      path.join(A, 'input.npy'),
      '--out',
      short,
      '--backend',
      'cpu',
      '--no-deep-supervision',
    );
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).not.toMatch(/deprecated/);
    expectClose(path.join(short, 'output_main.npy'), path.join(A, 'output_main.npy'));
  });

  it('explains mismatched weights and inputs', async () => {
    const cfg = path.join(tmp, 'wide.json');
    writeFileSync(
      cfg,
      JSON.stringify({ ...JSON.parse(readFileSync(path.join(A, 'config.json'), 'utf8')), n_channels: 8 }),
    );
    const r = await mednextExit(
      'model',
      'run',
      '--config',
      cfg,
      '--model',
      path.join(A, 'weights.safetensors'),
      '--input',
      path.join(A, 'input.npy'),
      '--out',
      path.join(tmp, 'c'),
      '--backend',
      'cpu',
    );
    expect(r.code).not.toBe(0);
    // oclif wraps messages at the terminal width, wherever the (path-dependent) line breaks fall
    expect(r.stderr.replace(/\s+/g, ' ')).toMatch(/does not match the model: wrong shape/);
    const bad = await mednextExit(
      'model',
      'run',
      '--model',
      path.join(A, 'weights.safetensors'),
      '--input',
      path.join(A, 'output_ds1.npy'),
      '--out',
      path.join(tmp, 'd'),
      '--backend',
      'cpu',
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.replace(/\s+/g, ' ')).toMatch(/input has 3 channels \(axis 1 of NCDHW\), the model expects 4/);
  });
});

describe('mednext model summary', () => {
  it('MedNeXt-B k3: parameter count and GFLOPs of the spec', async () => {
    const r = await mednextExit('model', 'summary', '--preset', 'B', '--kernel', '3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('parameters: 10,526,436');
    expect(r.stdout).toContain('182.7 GMAC = 365.3 GFLOPs');
    expect(r.stdout).toMatch(/up_0\s+32x128x160x112/);
  });

  it('--json with deep supervision and another patch', async () => {
    const r = await mednextExit(
      'model',
      'summary',
      '--preset',
      'S',
      '--kernel',
      '5',
      '--deep-supervision',
      '--patch',
      '128x128x128',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { totalParams: number; rows: { name: string }[] };
    expect(s.totalParams).toBe(5_983_568);
    expect(s.rows.map((x) => x.name)).toContain('out_4');
    const bad = await mednextExit('model', 'summary', '--patch', '100x160x112');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/multiple of 16/);
  });
});
