import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_AUGMENTATION, PAPER_AUGMENTATION } from '../src/data/index.js';
import { trainFold, type TrainOptions } from '../src/training/node/index.js';
import { decodeResume, readCheckpointMetadata } from '../src/training/index.js';
import { parseSafetensors } from '../src/weights/index.js';
import { useSyntheticTrainingRun } from './helpers/training-run.js';

const fixture = useSyntheticTrainingRun({ backend: 'wasm', cases: 6, prefix: 'mednext-train-' });
const tiny = (outDir: string, over: Partial<TrainOptions> = {}): TrainOptions =>
  fixture.options(outDir, { batchSize: 2, epochs: 4, iterationsPerEpoch: 6, seed: 7, ...over });

describe('trainFold', () => {
  it('a tiny MedNeXt learns the synthetic tumours: loss falls, validation Dice rises', async () => {
    const out = path.join(fixture.dir, 'learn');
    const result = await trainFold(tiny(out));
    expect(result.status).toBe('completed');
    const log = result.log;
    expect(log.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
    console.log(
      log.map((e) =>
        [e.trainLoss.toFixed(4), e.valLoss?.toFixed(4), e.valDiceMean?.toFixed(3), e.seconds.toFixed(1)].join(' '),
      ),
    );
    expect(log[3]!.trainLoss).toBeLessThan(log[0]!.trainLoss * 0.9);
    expect(log[3]!.valLoss!).toBeLessThan(log[0]!.valLoss!);
    expect(log[3]!.valDiceMean!).toBeGreaterThan((log[0]!.valDiceMean ?? 0) + 0.1);
    // files: splits, checkpoints with metadata, JSONL log, SVG plot
    const splits = JSON.parse(await readFile(path.join(out, 'splits.json'), 'utf8'));
    expect(splits.folds).toHaveLength(3);
    const fold = path.join(out, 'fold_0');
    const best = parseSafetensors(await readFile(path.join(fold, 'checkpoint_best.safetensors')));
    const { config, info } = readCheckpointMetadata(best.metadata, 'best');
    expect(config.n_classes).toBe(3);
    expect(info.regions.map((r) => r.name)).toEqual(['WT', 'TC', 'ET']);
    expect(info.modalities).toEqual(['t1n', 't1c', 't2w', 't2f']);
    expect(info.patchSize).toEqual([16, 16, 16]);
    expect(info.normalization).toEqual(Array(4).fill({ method: 'zscore-nonzero' }));
    expect(info.epoch).toBe(result.bestEpoch);
    const lines = (await readFile(path.join(fold, 'log.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(4);
    const svg = await readFile(path.join(fold, 'progress.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('Dice WT');
  });

  it('resume after an interruption continues to the identical result', async () => {
    const opts = {
      epochs: 3,
      iterationsPerEpoch: 2,
      batchSize: 1,
      augmentation: PAPER_AUGMENTATION,
      learningRate: 0.005,
    };
    const a = path.join(fixture.dir, 'uninterrupted');
    await trainFold(tiny(a, opts));
    const b = path.join(fixture.dir, 'interrupted');
    const controller = new AbortController();
    const first = await trainFold(
      tiny(b, { ...opts, signal: controller.signal, onEpoch: (e) => e.epoch === 1 && controller.abort() }),
    );
    expect(first.status).toBe('aborted');
    expect(first.epochsDone).toBe(2);
    const second = await trainFold(tiny(b, { ...opts, resume: true }));
    expect(second.status).toBe('completed');
    expect(second.epochsDone).toBe(3);
    for (const f of ['checkpoint_last.safetensors', 'checkpoint_best.safetensors']) {
      const [x, y] = await Promise.all([readFile(path.join(a, 'fold_0', f)), readFile(path.join(b, 'fold_0', f))]);
      expect(Buffer.compare(x, y), f).toBe(0);
    }
    const ra = decodeResume(await readFile(path.join(a, 'fold_0', 'checkpoint_last.resume.safetensors')), 'a');
    const rb = decodeResume(await readFile(path.join(b, 'fold_0', 'checkpoint_last.resume.safetensors')), 'b');
    expect(rb.state).toEqual(ra.state);
    for (const [name, t] of ra.optimizer.tensors) expect(rb.optimizer.tensors.get(name)!.data, name).toEqual(t.data);
    const strip = (s: string) =>
      s
        .trim()
        .split('\n')
        .map((l) => {
          const { time: _t, seconds: _s, ...rest } = JSON.parse(l);
          return rest;
        });
    const [la, lb] = await Promise.all([
      readFile(path.join(a, 'fold_0', 'log.jsonl'), 'utf8'),
      readFile(path.join(b, 'fold_0', 'log.jsonl'), 'utf8'),
    ]);
    expect(strip(lb)).toEqual(strip(la));
  });

  it('fine-tuning trains only the last decoder layers and heads; UpKern starts a k5 run from k3', async () => {
    const base = path.join(fixture.dir, 'base');
    await trainFold(tiny(base, { epochs: 1, iterationsPerEpoch: 1, batchSize: 1 }));
    const start = parseSafetensors(await readFile(path.join(base, 'fold_0', 'checkpoint_last.safetensors'))).tensors;
    const ft = path.join(fixture.dir, 'ft');
    const messages: string[] = [];
    const r = await trainFold(
      tiny(ft, {
        epochs: 1,
        iterationsPerEpoch: 2,
        batchSize: 1,
        splitsFile: path.join(base, 'splits.json'),
        sources: ['a'],
        init: {
          kind: 'checkpoint',
          path: path.join(base, 'fold_0', 'checkpoint_last.safetensors'),
          trainLast: 2,
          reinit: true,
        },
        onMessage: (m) => messages.push(m),
      }),
    );
    expect(r.status).toBe('completed');
    expect(messages[0]).toMatch(/fine-tuning 26 tensors \(last 2 decoder layers \+ heads, re-initialised\)/);
    const after = parseSafetensors(await readFile(path.join(ft, 'fold_0', 'checkpoint_last.safetensors'))).tensors;
    const trained = /^(up_0|dec_block_0\.0|out_[0-4])\./;
    let changed = 0;
    for (const [name, t] of start) {
      if (trained.test(name)) {
        if (
          name.endsWith('.weight') &&
          !name.includes('norm') &&
          Buffer.compare(Buffer.from(t.data.buffer), Buffer.from(after.get(name)!.data.buffer)) !== 0
        )
          changed++;
      } else expect(after.get(name)!.data, name).toEqual(t.data);
    }
    expect(changed).toBeGreaterThanOrEqual(5);
    const ftSplits = JSON.parse(await readFile(path.join(base, 'splits.json'), 'utf8'));
    expect(ftSplits.folds[0].val.length).toBe(2);

    const up = path.join(fixture.dir, 'upkern');
    const k5 = await trainFold(
      tiny(up, {
        epochs: 1,
        iterationsPerEpoch: 1,
        batchSize: 1,
        model: { ...tiny(up).model, kernel_size: 5 },
        init: { kind: 'upkern', path: path.join(base, 'fold_0', 'checkpoint_last.safetensors') },
        onMessage: (m) => messages.push(m),
      }),
    );
    expect(k5.status).toBe('completed');
    expect(messages[1]).toMatch(/UpKern from .*: [1-9][0-9]* kernels resampled/);
    const k5w = parseSafetensors(await readFile(path.join(up, 'fold_0', 'checkpoint_last.safetensors'))).tensors;
    expect(k5w.get('enc_block_0.0.conv1.weight')!.shape).toEqual([4, 1, 5, 5, 5]);
  });

  it('sampling in worker threads gives the same run as sampling in the training thread', async () => {
    const opts = { epochs: 1, iterationsPerEpoch: 3, batchSize: 2, augmentation: DEFAULT_AUGMENTATION };
    const a = path.join(fixture.dir, 'inline');
    const b = path.join(fixture.dir, 'workers');
    await trainFold(tiny(a, opts));
    await trainFold(tiny(b, { ...opts, samplingWorkers: 2 }));
    const [x, y] = await Promise.all([
      readFile(path.join(a, 'fold_0', 'checkpoint_last.resume.safetensors')),
      readFile(path.join(b, 'fold_0', 'checkpoint_last.resume.safetensors')),
    ]);
    expect(Buffer.compare(x, y)).toBe(0);
  });

  it('whole-case validation scores every validation case by sliding window', async () => {
    const out = path.join(fixture.dir, 'whole-val');
    const r = await trainFold(tiny(out, { epochs: 1, iterationsPerEpoch: 1, batchSize: 1, validation: 'whole' }));
    const e = r.log[0]!;
    expect(e.valLoss).toBeNull();
    expect(Object.keys(e.valDice)).toEqual(['WT', 'TC', 'ET']);
    for (const v of Object.values(e.valDice)) expect(v === null || (v >= 0 && v <= 1)).toBe(true);
    expect(e.valDiceMean).not.toBeNull();
  });

  it('AdamW with a poly schedule also resumes exactly', async () => {
    const opts = {
      epochs: 2,
      iterationsPerEpoch: 2,
      batchSize: 1,
      optimizer: 'adamw-poly' as const,
      learningRate: 0.003,
    };
    const a = path.join(fixture.dir, 'adamw-whole');
    const full = await trainFold(tiny(a, opts));
    expect(full.log.map((e) => e.learningRate)).toEqual([0.003, 0.003 * 0.5 ** 0.9]);
    const b = path.join(fixture.dir, 'adamw-split');
    const controller = new AbortController();
    await trainFold(tiny(b, { ...opts, signal: controller.signal, onEpoch: () => controller.abort() }));
    await trainFold(tiny(b, { ...opts, resume: true }));
    const [x, y] = await Promise.all([
      readFile(path.join(a, 'fold_0', 'checkpoint_last.resume.safetensors')),
      readFile(path.join(b, 'fold_0', 'checkpoint_last.resume.safetensors')),
    ]);
    expect(Buffer.compare(x, y)).toBe(0);
  });
});
