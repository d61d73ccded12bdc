/**
 * What happens when things go wrong, end to end: non-finite input voxels, and `train`/`predict` killed with
 * SIGKILL at random moments (and while writing), rerun, and compared byte for byte with uninterrupted runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { watch } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readNifti, writeNifti } from '@mednext-ts/io-nifti/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, mednext, mednextExit, tempDir } from './cli-helpers.js';
import { writePhantomCase, writeTinyCheckpoint } from './inference-helpers.js';

const tmp = tempDir('mednext-reliability-');
const cases = path.join(tmp, 'cases');
const ckpt = path.join(tmp, 'tiny.safetensors');
const ids: string[] = [];

beforeAll(async () => {
  for (const seed of [11, 12, 13]) ids.push((await writePhantomCase(cases, seed, [24, 20, 16])).id);
  await writeTinyCheckpoint(ckpt, 3);
}, 120_000);

/** mulberry32, for reproducible kill times. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every file under `dir` (relative names), sorted. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

const isTemporary = (name: string) => /(^|\/)\..+\.\d+\.[0-9a-f]{8}\.tmp$/.test(name);

/**
 * Starts `mednext <args>` and SIGKILLs it after `delayMs`, or as soon as a temporary file appears in `watchDir`
 * (a write in progress) when `watchDir` is given. Resolves with whether the kill landed before the command ended.
 */
function runAndKill(args: string[], delayMs: number, watchDir?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
    const kill = () => child.kill('SIGKILL');
    const timer = setTimeout(kill, delayMs);
    const watcher = watchDir
      ? watch(watchDir, { recursive: true }, (_event, name) => {
          if (name && isTemporary(String(name))) kill();
        })
      : undefined;
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      watcher?.close();
      resolve(signal === 'SIGKILL');
    });
  });
}

/** A pid that is not running: a child that has exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
}

/** Leaves the debris of a writer killed long ago in `dir`. */
async function plantDebris(dir: string, name: string): Promise<string> {
  const file = path.join(dir, `.${name}.${deadPid()}.deadbeef.tmp`);
  await writeFile(file, 'partial');
  const old = new Date(Date.now() - 3600_000);
  await utimes(file, old, old);
  return file;
}

async function expectSameFiles(reference: string, other: string, compare: (name: string) => boolean): Promise<void> {
  const [a, b] = await Promise.all([listFiles(reference), listFiles(other)]);
  expect(b.filter(isTemporary), 'leftover temporary files').toEqual([]);
  expect(b).toEqual(a);
  for (const name of a.filter(compare)) {
    const [x, y] = await Promise.all([readFile(path.join(reference, name)), readFile(path.join(other, name))]);
    expect(Buffer.compare(x, y), name).toBe(0);
  }
}

describe('non-finite input', () => {
  it('predict and preprocess name the file, modality and count; --repair-non-finite sets them to 0 and says how many', async () => {
    const id = ids[0]!;
    const poisoned = path.join(tmp, 'poisoned', id);
    await mkdir(poisoned, { recursive: true });
    const zeroed = path.join(tmp, 'zeroed', id);
    await mkdir(zeroed, { recursive: true });
    for (const m of ['t1n', 't1c', 't2w', 't2f']) {
      const name = `${id}-${m}.nii.gz`;
      await copyFile(path.join(cases, id, name), path.join(poisoned, name));
      await copyFile(path.join(cases, id, name), path.join(zeroed, name));
    }
    // Two NaN voxels and one +Infinity in t1c, inside the brain; the same voxels set to 0 in the `zeroed` copy.
    const t1c = await readNifti(path.join(cases, id, `${id}-t1c.nii.gz`));
    const data = Float32Array.from(t1c.data);
    const voxels = [t1c.index(12, 10, 8), t1c.index(11, 10, 8), t1c.index(12, 9, 7)];
    const bad = Float32Array.from(data);
    [Number.NaN, Number.NaN, Infinity].forEach((v, k) => (bad[voxels[k]!] = v));
    const zero = Float32Array.from(data);
    for (const v of voxels) zero[v] = 0;
    await writeNifti(path.join(poisoned, `${id}-t1c.nii.gz`), t1c.withData(bad));
    await writeNifti(path.join(zeroed, `${id}-t1c.nii.gz`), t1c.withData(zero));

    const common = ['-m', ckpt, '--backend', 'cpu', '-q'];
    const refused = await mednextExit('predict', poisoned, '--out', path.join(tmp, 'p-refused'), ...common);
    expect(refused.code).toBe(1);
    // oclif wraps error messages anywhere, even inside a path: compare without whitespace.
    const squeeze = (text: string) => text.replace(/\s+|›/g, '');
    expect(squeeze(refused.stderr)).toContain(
      squeeze(
        `${id}: ${path.join(poisoned, `${id}-t1c.nii.gz`)}: 3 non-finite voxel(s) (NaN or infinite) in modality t1c; ` +
          'fix the input, or pass --repair-non-finite',
      ),
    );
    expect(await readdir(path.join(tmp, 'p-refused'))).toEqual([]);

    const repaired = await mednext([
      'predict',
      poisoned,
      '--out',
      path.join(tmp, 'p-repaired'),
      '--repair-non-finite',
      ...common,
    ]);
    expect(repaired.stderr).toContain(`${id}: repaired ${path.join(poisoned, `${id}-t1c.nii.gz`)}: 3 non-finite`);
    await mednext(['predict', zeroed, '--out', path.join(tmp, 'p-zeroed'), ...common]);
    const [a, b] = await Promise.all([
      readFile(path.join(tmp, 'p-repaired', `${id}.nii.gz`)),
      readFile(path.join(tmp, 'p-zeroed', `${id}.nii.gz`)),
    ]);
    expect(Buffer.compare(a, b)).toBe(0);

    // preprocess: the same refusal, and the same repair.
    const root = path.dirname(poisoned);
    const pre = ['preprocess', '--task', 'ssa', '--root', root, '-j', '0', '-q'];
    const strict = await mednextExit(...pre, '--out', path.join(tmp, 'cache-strict'));
    expect(strict.code).toBe(1);
    expect(squeeze(strict.stderr)).toContain(
      squeeze(`${path.join(poisoned, `${id}-t1c.nii.gz`)}: 3 non-finite voxel(s)`),
    );
    const fixed = await mednext([...pre, '--out', path.join(tmp, 'cache-repaired'), '--repair-non-finite']);
    expect(fixed.stderr).toContain(`${id}: repaired ${path.join(poisoned, `${id}-t1c.nii.gz`)}: 3 non-finite`);
    expect(fixed.stdout).toMatch(/1 preprocessed, 0 already cached, 0 failed, 1 with non-finite voxels set to 0/);
  }, 120_000);
});

describe('SIGKILL at random moments', () => {
  it('predict: killed and rerun, the outputs are byte-identical and no temporary file is left', async () => {
    const args = (out: string) => [
      'predict',
      cases,
      '-m',
      ckpt,
      '--out',
      out,
      '--backend',
      'cpu',
      '--save-probabilities',
      'uint8',
      '-q',
    ];
    const reference = path.join(tmp, 'pred-ref');
    const started = performance.now();
    await mednext(args(reference));
    const duration = performance.now() - started;

    const out = path.join(tmp, 'pred-killed');
    await mkdir(out, { recursive: true });
    const random = rng(14);
    let kills = 0;
    // First a kill aimed at the first write in progress, then kills at random moments over a whole run's length.
    if (await runAndKill(args(out), duration * 2, out)) kills++;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await runAndKill(args(out), 200 + random() * duration)) kills++;
    }
    expect(kills).toBeGreaterThan(0);
    const debris = await plantDebris(out, `${ids[1]}.nii.gz`);
    await mednext(args(out));
    expect(
      (await listFiles(out)).includes(path.basename(debris)),
      'debris of a dead writer is removed by the next run',
    ).toBe(false);
    await expectSameFiles(reference, out, () => true);
  }, 180_000);

  it('train: killed and rerun with --resume, the checkpoints are byte-identical and no temporary file is left', async () => {
    const cache = path.join(tmp, 'cache');
    await mednext(['preprocess', '--task', 'ssa', '--root', cases, '--out', cache, '-j', '0', '-q']);
    const args = (out: string) => [
      'train',
      '--data',
      cache,
      '--out',
      out,
      '--fold',
      '0',
      '--folds',
      '2',
      '--epochs',
      '3',
      '--seed',
      '5',
      '--width',
      '2',
      '--blocks',
      '1',
      '--patch-size',
      '16x16x16',
      '--batch-size',
      '1',
      '--iterations',
      '2',
      '--backend',
      'wasm',
      '-q',
      '--resume',
    ];
    const reference = path.join(tmp, 'train-ref');
    const started = performance.now();
    await mednext(args(reference));
    const duration = performance.now() - started;

    const out = path.join(tmp, 'train-killed');
    await mkdir(path.join(out, 'fold_0'), { recursive: true });
    const random = rng(15);
    let kills = 0;
    if (await runAndKill(args(out), duration * 2, out)) kills++;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await runAndKill(args(out), 500 + random() * duration)) kills++;
    }
    expect(kills).toBeGreaterThan(0);
    await plantDebris(path.join(out, 'fold_0'), 'checkpoint_last.safetensors');
    await mednext(args(out));
    // log.jsonl, progress.svg and train-config.json hold timings and the run folder's own paths; the weights,
    // optimiser state, RNG state and split must be identical.
    await expectSameFiles(reference, out, (name) => /\.safetensors$|splits\.json$/.test(name));
  }, 240_000);
});
