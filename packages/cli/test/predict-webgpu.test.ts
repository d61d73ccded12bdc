/**
 * `mednext predict --backend webgpu` (the network on the WebGPU engine) against `--backend cpu` on a phantom
 * case with the shipped demo model: the same labels, and probabilities within 1e-4 (the network fixtures allow
 * 1e-4 + 1e-4·|logit|; a sigmoid's slope is at most 1/4). Runs on Dawn/llvmpipe here. WebGPU is expected:
 * without an adapter this FAILS, unless the environment declares `MEDNEXT_SKIP_WEBGPU=1`.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNifti } from '@mednext-ts/io-nifti/node';
import { readProbabilities } from '@mednext-ts/mednext/node';
import { describe, expect, it } from 'vitest';
import { mednext, tempDir } from './cli-helpers.js';
import { writePhantomCase } from './inference-helpers.js';

const tmp = tempDir('mednext-predict-webgpu-test-');
const DEMO_MODEL = fileURLToPath(new URL('../../mednext/models/demo/model.safetensors', import.meta.url));

describe.skipIf(!!process.env.MEDNEXT_SKIP_WEBGPU)('mednext predict on the WebGPU engine', () => {
  it('gives the labels of --backend cpu, probabilities within 1e-4', { timeout: 600_000 }, async () => {
    const { dir } = await writePhantomCase(path.join(tmp, 'cases'), 7, [40, 48, 32]);
    const run = async (backend: string) => {
      const out = path.join(tmp, backend);
      const { stderr } = await mednext([
        'predict',
        dir,
        '-m',
        DEMO_MODEL,
        '--out',
        out,
        '--backend',
        backend,
        '--save-probabilities',
        'float32',
      ]);
      const [file] = readdirSync(out).filter((f) => /^BraTS.*\d\.nii\.gz$/.test(f));
      const seg = await readNifti(path.join(out, file!));
      const { probabilities } = await readProbabilities(
        path.join(out, file!.replace('.nii.gz', '_probabilities.nii.gz')),
      );
      return { stderr, labels: seg.toCOrder().data, probabilities: probabilities.data };
    };
    const cpu = await run('cpu');
    const gpu = await run('webgpu');
    expect(gpu.stderr).toMatch(/network: WebGPU engine on .+ \(requested explicitly/);
    expect(cpu.stderr).toMatch(/network: cpu/);
    let maxDiff = 0;
    const nearThreshold = new Set<number>();
    const n = cpu.labels.length;
    for (let i = 0; i < cpu.probabilities.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(gpu.probabilities[i]! - cpu.probabilities[i]!));
      if (Math.abs(cpu.probabilities[i]! - 0.5) < 1e-4) nearThreshold.add(i % n);
    }
    expect(maxDiff, `max |p_webgpu - p_cpu| ${maxDiff}`).toBeLessThanOrEqual(1e-4);
    // The model segments something (a comparison of two empty label maps would prove little).
    const foreground = Array.from(cpu.labels).filter((l) => l !== 0).length;
    expect(foreground).toBeGreaterThan(100);
    const differing = Array.from(cpu.labels).filter((l, i) => l !== gpu.labels[i] && !nearThreshold.has(i));
    expect(differing.length).toBe(0);
  });
});
