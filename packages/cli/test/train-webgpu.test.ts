/**
 * `mednext train` / `mednext finetune` on the GPU trainer: `--backend webgpu` on a phantom cache (Dawn/llvmpipe
 * here) writes the usual checkpoints, with GPU idle time and peak GPU memory in the log; the engine choice of
 * `--backend auto` and the errors. WebGPU is expected: without an adapter the end-to-end test FAILS, unless the
 * environment declares `MEDNEXT_SKIP_WEBGPU=1`.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { MedNeXtError, parseSafetensors, readCheckpointMetadata } from '@mednext-ts/mednext';
import type { AcquiredGpuDevice } from '@mednext-ts/tensor3d/webgpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { planTrainingEngine } from '../src/lib/training.js';
import { mednext, mednextExit, tempDir } from './cli-helpers.js';
import { writePhantomCase } from './inference-helpers.js';

const tmp = tempDir('mednext-train-webgpu-cli-');
const cache = path.join(tmp, 'cache');
beforeAll(async () => {
  for (const seed of [1, 2, 3]) await writePhantomCase(path.join(tmp, 'cases'), seed);
  await mednext(['preprocess', '--task', 'ssa', '--root', path.join(tmp, 'cases'), '--out', cache, '-j', '0', '-q']);
}, 120_000);

const tiny = ['--patch-size', '16x16x16', '--batch-size', '2', '--iterations', '2', '--epochs', '1', '--fold', '0'];
const tinyModel = ['--width', '4', '--blocks', '1', '--num-folds', '3'];

/** A fake device acquisition: an adapter of this name, a device whose destruction is recorded. */
function fakeGpu(description: string, software: boolean) {
  let destroyed = false;
  let probed = false;
  const device = { destroy: () => (destroyed = true) } as unknown as GPUDevice;
  return {
    probe: {
      mayHaveGpu: () => true,
      acquire: async (): Promise<AcquiredGpuDevice> => {
        probed = true;
        return { device, adapter: { description, limits: {}, features: [], software } };
      },
    },
    destroyed: () => destroyed,
    probed: () => probed,
  };
}

describe('the engine of mednext train --backend', () => {
  it('auto: the GPU trainer on a hardware adapter with Schedule-Free, else tfjs (releasing the device)', async () => {
    const h100 = fakeGpu('NVIDIA H100 80GB HBM3', false);
    const gpu = await planTrainingEngine('auto', 'schedulefree', h100.probe);
    expect(gpu.engine).toBe('webgpu');
    expect(gpu.reason).toMatch(/a GPU adapter was found \(NVIDIA H100/);
    gpu.release();
    expect(h100.destroyed()).toBe(true);

    const withAdamW = fakeGpu('NVIDIA H100 80GB HBM3', false);
    const cpu = await planTrainingEngine('auto', 'adamw-poly', withAdamW.probe);
    expect(cpu.engine).toBe('tfjs');
    expect(cpu.reason).toBe('the webgpu engine trains with Schedule-Free AdamW only, not adamw-poly');
    expect(withAdamW.destroyed()).toBe(true);

    const llvmpipe = fakeGpu('llvmpipe (LLVM 15.0.6, 256 bits)', true);
    expect((await planTrainingEngine('auto', 'schedulefree', llvmpipe.probe)).engine).toBe('tfjs');
    expect(llvmpipe.destroyed()).toBe(true);
  });

  it('webgpu: AdamW with a schedule is refused before any GPU probe, naming the flag', async () => {
    const gpu = fakeGpu('NVIDIA H100 80GB HBM3', false);
    const error = await planTrainingEngine('webgpu', 'adamw-cosine', gpu.probe).catch((e) => e);
    expect(error).toBeInstanceOf(MedNeXtError);
    expect((error as MedNeXtError).code).toBe('TRAINING_SETTING');
    expect((error as Error).message).toMatch(/^--optimizer adamw-cosine: the webgpu engine trains with Schedule-Free/);
    expect(gpu.probed()).toBe(false);
  });

  it('the command exits with that error and writes nothing', async () => {
    const out = path.join(tmp, 'adamw');
    const r = await mednextExit(
      'train',
      '--data',
      cache,
      '--out',
      out,
      '--backend',
      'webgpu',
      '--optimizer',
      'adamw-poly',
      ...tiny,
      ...tinyModel,
    );
    expect(r.code).toBe(1);
    // oclif wraps the message at the terminal width.
    expect(r.stderr.replace(/\s*\n ›\s*/g, ' ')).toMatch(
      /--optimizer adamw-poly: the webgpu engine trains with Schedule-Free AdamW only/,
    );
    await expect(readdir(out)).rejects.toThrow();
  });
});

describe.skipIf(!!process.env.MEDNEXT_SKIP_WEBGPU)('mednext train --backend webgpu', () => {
  it(
    'trains and fine-tunes a fold on the GPU trainer: checkpoints, log with GPU idle time and peak memory',
    { timeout: 600_000 },
    async () => {
      const run = path.join(tmp, 'run');
      const train = await mednext([
        'train',
        '--data',
        cache,
        '--out',
        run,
        '--backend',
        'webgpu',
        ...tiny,
        ...tinyModel,
      ]);
      expect(train.stderr).toMatch(/engine: WebGPU trainer \(requested explicitly \(.+\)/);
      expect(train.stderr).toMatch(/GPU idle \d+ ms\/step \(max \d+\), peak GPU memory [\d.]+ (MiB|GiB)/);
      expect(train.stdout).toMatch(/fold_0: best mean Dice/);
      const fold = path.join(run, 'fold_0');
      expect((await readdir(fold)).sort()).toEqual([
        'checkpoint_best.safetensors',
        'checkpoint_last.resume.safetensors',
        'checkpoint_last.safetensors',
        'log.jsonl',
        'progress.svg',
        'train-config.json',
      ]);
      const [entry] = (await readFile(path.join(fold, 'log.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(Number.isFinite(entry.trainLoss)).toBe(true);
      expect(entry.gpuIdleMsMean).toBeGreaterThanOrEqual(0);
      expect(entry.gpuIdleMsMax).toBeGreaterThanOrEqual(entry.gpuIdleMsMean);
      expect(entry.gpuPeakBytes).toBeGreaterThan(0);
      const config = JSON.parse(await readFile(path.join(fold, 'train-config.json'), 'utf8'));
      expect(config.engine).toBe('webgpu');
      const { info, config: model } = readCheckpointMetadata(
        parseSafetensors(await readFile(path.join(fold, 'checkpoint_last.safetensors'))).metadata,
        'last',
      );
      expect(info.task).toBe('ssa');
      expect(model.n_channels).toBe(4);

      const ft = path.join(tmp, 'ft');
      const fine = await mednext([
        'finetune',
        '--from',
        run,
        '--data',
        cache,
        '--out',
        ft,
        '--train-last',
        '2',
        '--backend',
        'webgpu',
        ...tiny,
      ]);
      expect(fine.stderr).toMatch(/engine: WebGPU trainer \(requested explicitly/);
      expect(fine.stdout).toMatch(/fold_0: best mean Dice/);
      const before = parseSafetensors(await readFile(path.join(fold, 'checkpoint_last.safetensors'))).tensors;
      const after = parseSafetensors(await readFile(path.join(ft, 'fold_0', 'checkpoint_last.safetensors'))).tensors;
      // The encoder is frozen: bit for bit the source checkpoint's.
      for (const [name, t] of before)
        if (name.startsWith('enc_block_')) expect(after.get(name)!.data, name).toEqual(t.data);
    },
  );
});
