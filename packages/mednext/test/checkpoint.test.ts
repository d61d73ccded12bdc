import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@mednext-ts/tensor3d';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  MedNeXtError,
  checkpointMetadata,
  decodeCheckpoint,
  decodeCheckpointMetadata,
  decodeResume,
  encodeCheckpoint,
  encodeCheckpointMetadata,
  encodeResume,
  inferenceModelFromBytes,
  parseSafetensors,
  readCheckpointMetadata,
  serializeSafetensors,
} from '../src/index.js';
import { loadInferenceModel, readCheckpointFile, writeCheckpointFile } from '../src/node.js';

// The demo model was written by `mednext train` before the checkpoint module existed: the reference old file.
const DEMO = path.join(import.meta.dirname, '..', 'models', 'demo', 'model.safetensors');
const demoBytes = new Uint8Array(readFileSync(DEMO));
const demo = parseSafetensors(demoBytes, DEMO);

/** The demo checkpoint with its metadata changed by `edit`. */
function withMetadata(edit: (metadata: Record<string, string>) => Record<string, string>): Uint8Array {
  return serializeSafetensors(demo.tensors, edit({ ...demo.metadata }));
}

/** The error `fn` throws (the test fails when it throws none). */
function thrown(fn: () => unknown): MedNeXtError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MedNeXtError);
    return error as MedNeXtError;
  }
  throw new Error('expected an error');
}

let tmp: string;
beforeAll(async () => {
  await selectBackend('cpu');
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mednext-checkpoint-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('checkpoint metadata', () => {
  it('reads a checkpoint written by the earlier trainer, with every recorded fact', () => {
    const meta = decodeCheckpointMetadata(demo.metadata, DEMO);
    expect(meta.formatVersion).toBe(1);
    expect(meta.config).toMatchObject({ in_channels: 4, n_channels: 8, n_classes: 3, kernel_size: 3 });
    expect(meta.task).toBe('ssa');
    expect(meta.regions).toEqual(['WT', 'TC', 'ET']);
    expect(meta.regionDefinitions?.map((r) => r.labels)).toEqual([[1, 2, 3], [1, 3], [3]]);
    expect(meta.modalities).toEqual(['t1n', 't1c', 't2w', 't2f']);
    expect(meta.patchSize).toEqual([32, 32, 32]);
    expect(meta.normalization).toBe('zscore-nonzero'); // older checkpoints record one string
    expect(meta.fold).toBe(0);
    expect(meta.epoch).toBe(10);
    expect(meta.valDiceMean).toBeCloseTo(0.857062199355735, 12);
    expect(meta.training).toMatchObject({ batchSize: 2, epochs: 12, iterationsPerEpoch: 20 });
  });

  it('the one writer gives back the old file metadata key for key, value for value', () => {
    const { config, info } = readCheckpointMetadata(demo.metadata, DEMO);
    expect(checkpointMetadata(config, info)).toEqual(demo.metadata);
    // The facts after the network config keep their order (the config's own order is configToMetadata's).
    const facts = (m: Record<string, string>) => Object.keys(m).slice(Object.keys(m).indexOf('format'));
    expect(facts(checkpointMetadata(config, info))).toEqual(facts(demo.metadata));
  });

  it('round-trips a partial record (an import) and writes the current format', () => {
    const { config } = readCheckpointMetadata(demo.metadata, DEMO);
    const written = encodeCheckpointMetadata({
      config,
      task: 'ssa-paper',
      patchSize: [64, 64, 64],
      source: { file: 'a.ckpt' },
    });
    expect(written.format).toBe(JSON.stringify(CHECKPOINT_FORMAT));
    expect(written).not.toHaveProperty('epoch');
    const back = decodeCheckpointMetadata(written, 'import.safetensors');
    expect(back).toEqual({
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      config,
      task: 'ssa-paper',
      patchSize: [64, 64, 64],
      source: { file: 'a.ckpt' },
    });
  });

  it('reads files without our format key as version 0: older imports (plain strings) and other tools', () => {
    const old = decodeCheckpointMetadata({ task: 'ssa-paper', pipeline: 'seed-paper', patch_size: '[32,32,32]' }, 'o');
    expect(old).toEqual({
      formatVersion: 0,
      config: null,
      task: 'ssa-paper',
      pipeline: 'seed-paper',
      patchSize: [32, 32, 32],
    });
    expect(decodeCheckpointMetadata({ format: 'pt' }, 'hf.safetensors').formatVersion).toBe(0);
  });

  it('a newer format version is a clear error naming the file, wherever the file is read', async () => {
    const newer = withMetadata((m) => ({ ...m, format: JSON.stringify('mednext-ts/checkpoint@2') }));
    const message = /future\.safetensors: checkpoint format version 2 is newer than this mednext-ts reads \(1\)/;
    for (const read of [
      () => decodeCheckpointMetadata(parseSafetensors(newer).metadata, 'future.safetensors'),
      () => readCheckpointMetadata(parseSafetensors(newer).metadata, 'future.safetensors'),
      () => decodeCheckpoint(newer, 'future.safetensors'),
      () => inferenceModelFromBytes(newer, 'future.safetensors'),
    ]) {
      const error = thrown(read);
      expect(error.code).toBe('CHECKPOINT_VERSION');
      expect(error.file).toBe('future.safetensors');
      expect(error.message).toMatch(message);
    }
    const file = path.join(tmp, 'future.safetensors');
    await writeFile(file, newer);
    await expect(loadInferenceModel(file)).rejects.toMatchObject({ code: 'CHECKPOINT_VERSION' });
    await expect(readCheckpointFile(file)).rejects.toThrow(/future\.safetensors: checkpoint format version 2/);
  });

  it('a training checkpoint without a training fact names the missing key', () => {
    const noEpoch = withMetadata(({ epoch: _epoch, ...rest }) => rest);
    const error = thrown(() => readCheckpointMetadata(parseSafetensors(noEpoch).metadata, 'a.safetensors'));
    expect(error.code).toBe('CHECKPOINT_INVALID');
    expect(error.message).toBe("a.safetensors: metadata key 'epoch' is missing (not a mednext training checkpoint?)");
    const noConfig = thrown(() => readCheckpointMetadata({ task: '"ssa"' }, 'b.safetensors'));
    expect(noConfig.code).toBe('CHECKPOINT_INVALID');
    expect(noConfig.message).toMatch(/^b\.safetensors: no network config/);
  });
});

describe('checkpoint files', () => {
  it('loads the old checkpoint for inference from bytes (as the web app) and from disk (as predict)', async () => {
    const fromBytes = inferenceModelFromBytes(demoBytes, 'model.safetensors');
    const fromDisk = await loadInferenceModel(DEMO);
    try {
      for (const model of [fromBytes, fromDisk]) {
        expect(model.patchSize).toEqual([32, 32, 32]);
        expect(model.inChannels).toBe(4);
        expect(model.outChannels).toBe(3);
        expect(model.info).toMatchObject({ task: 'ssa', regions: ['WT', 'TC', 'ET'], normalization: 'zscore-nonzero' });
      }
    } finally {
      fromBytes.dispose();
      fromDisk.dispose();
    }
  });

  it('writes atomically (no temporary file left) and reads back the same tensors and metadata', async () => {
    const file = path.join(tmp, 'copy.safetensors');
    await writeCheckpointFile(file, encodeCheckpoint(demo.tensors, demo.metadata));
    expect((await readdir(tmp)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const back = await readCheckpointFile(file);
    expect(back.weights.format).toBe('safetensors');
    expect(back.weights.metadata).toEqual(demo.metadata);
    const name = 'stem.conv.weight';
    expect(back.weights.tensors.get(name)?.data).toEqual(demo.tensors.get(name)?.data);
  });

  it('a missing file is CHECKPOINT_UNREADABLE naming it', async () => {
    const missing = path.join(tmp, 'nope.safetensors');
    await expect(readCheckpointFile(missing)).rejects.toMatchObject({
      code: 'CHECKPOINT_UNREADABLE',
      file: missing,
      message: `${missing}: cannot read checkpoint (ENOENT)`,
    });
    await expect(loadInferenceModel(missing)).rejects.toMatchObject({ code: 'CHECKPOINT_UNREADABLE' });
  });

  it('a resume file round-trips its optimizer and loop state; a model checkpoint is not one', () => {
    const weights = new Map([['w', { shape: [2], data: new Float32Array([1, 2]) }]]);
    const optimizer = {
      kind: 'schedulefree' as const,
      words: { step: [3] },
      order: ['z'],
      tensors: new Map([['z', { shape: [2], data: new Float32Array([5, 6]) }]]),
    };
    const state = { epoch: 4, rng: { s: [1, 2, 3, 4] } as never, bestDice: 0.5, bestEpoch: 3 };
    const bytes = encodeResume(weights, optimizer, state, { format: JSON.stringify(CHECKPOINT_FORMAT) });
    const back = decodeResume(bytes, 'r.safetensors');
    expect(back.state).toEqual(state);
    expect([...back.weights.keys()]).toEqual(['w']);
    expect(back.optimizer.words).toEqual({ step: [3] });
    expect(back.optimizer.tensors.get('z')?.data).toEqual(new Float32Array([5, 6]));
    const error = thrown(() => decodeResume(demoBytes, 'best.safetensors'));
    expect(error.code).toBe('CHECKPOINT_INVALID');
    expect(error.message).toBe("best.safetensors: not a resume checkpoint (no 'resume'/'optimizer' metadata)");
  });
});
