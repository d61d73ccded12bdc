import { copyFile, mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { readNifti } from '@mednext-ts/io-nifti/node';
import { readProbabilities } from '@mednext-ts/mednext/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { mednext, tempDir } from './cli-helpers.js';
import { writePhantomCase, writeTinyCheckpoint } from './inference-helpers.js';

/** The error output of a failing command, with oclif's line wrapping (' ›   ') undone. */
async function failure(args: string[]): Promise<string> {
  try {
    await mednext(args);
  } catch (error) {
    return String((error as { stderr?: string }).stderr ?? error)
      .replace(/\s*›\s*/g, ' ')
      .replace(/\s+/g, ' ');
  }
  throw new Error(`mednext ${args.join(' ')} succeeded`);
}

const tmp = tempDir('mednext-ensemble-test-');
let cases: string;
let ids: string[];

beforeAll(async () => {
  cases = path.join(tmp, 'cases');
  ids = [];
  for (const seed of [4, 5]) ids.push((await writePhantomCase(cases, seed, [32, 32, 20])).id);
  await writeTinyCheckpoint(path.join(tmp, 'a.safetensors'), 11);
  await writeTinyCheckpoint(path.join(tmp, 'b.safetensors'), 12);
  const common = ['--backend', 'cpu', '--save-probabilities', 'float32', '-q', '--task', 'ssa'];
  await mednext(['predict', cases, '-m', path.join(tmp, 'a.safetensors'), '--out', path.join(tmp, 'pa'), ...common]);
  await mednext(['predict', cases, '-m', path.join(tmp, 'b.safetensors'), '--out', path.join(tmp, 'pb'), ...common]);
  await mednext([
    'predict',
    cases,
    '-m',
    path.join(tmp, 'a.safetensors'),
    '-m',
    path.join(tmp, 'b.safetensors'),
    '--weights',
    '1,3',
    '--out',
    path.join(tmp, 'pab'),
    ...common,
  ]);
}, 240_000);

describe('mednext ensemble', () => {
  it('averaging saved maps gives what predicting with the ensemble gives', async () => {
    const out = path.join(tmp, 'ens');
    await mednext([
      'ensemble',
      path.join(tmp, 'pa'),
      path.join(tmp, 'pb'),
      '--weights',
      '1,3',
      '--out',
      out,
      '--save-probabilities',
      'uint8',
      '-q',
    ]);
    expect((await readdir(out)).filter((f) => f.endsWith('.nii.gz')).sort()).toEqual(
      ids.flatMap((id) => [`${id}.nii.gz`, `${id}_probabilities.nii.gz`]).sort(),
    );
    for (const id of ids) {
      const direct = await readProbabilities(path.join(tmp, 'pab', `${id}_probabilities.nii.gz`));
      const redone = await readProbabilities(path.join(out, `${id}_probabilities.nii.gz`));
      expect(redone.sidecar.format).toBe('uint8');
      let maxErr = 0;
      for (let i = 0; i < direct.probabilities.data.length; i++)
        maxErr = Math.max(maxErr, Math.abs(direct.probabilities.data[i]! - redone.probabilities.data[i]!));
      // uint8 quantisation: at most half a step of 1/255
      expect(maxErr).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
      const a = await readNifti(path.join(tmp, 'pab', `${id}.nii.gz`));
      const b = await readNifti(path.join(out, `${id}.nii.gz`));
      expect(b.shape).toEqual([32, 32, 20]);
      expect(b.affine).toEqual(a.affine);
      expect(Array.from(b.data)).toEqual(Array.from(a.data));
    }
  }, 120_000);

  it('refuses folders with different cases or without probability maps', async () => {
    expect(await failure(['ensemble', path.join(tmp, 'pa'), cases, '--out', path.join(tmp, 'x')])).toMatch(
      /cases: no \*_probabilities.nii.gz files/,
    );
    const partial = path.join(tmp, 'partial');
    await mkdir(partial);
    for (const suffix of ['_probabilities.nii.gz', '_probabilities.nii.gz.json'])
      await copyFile(path.join(tmp, 'pa', `${ids[0]}${suffix}`), path.join(partial, `${ids[0]}${suffix}`));
    expect(await failure(['ensemble', path.join(tmp, 'pa'), partial, '--out', path.join(tmp, 'x')])).toMatch(
      /partial and .*pa hold different cases \(missing BraTS-SSA-00005-000\)/,
    );
  }, 60_000);
});

describe('mednext tune-postprocess', () => {
  it('writes a config that is at least as good as the defaults and that predict accepts', async () => {
    const config = path.join(tmp, 'pp.json');
    const { stdout } = await mednext([
      'tune-postprocess',
      path.join(tmp, 'pab'),
      '--labels',
      cases,
      '--out',
      config,
      '--thresholds',
      '0.3,0.5,0.7',
      '--min-sizes',
      '0,20',
      '-q',
    ]);
    const parsed = JSON.parse(await readFile(config, 'utf8'));
    expect(parsed.task).toBe('ssa');
    expect(Object.keys(parsed.regions)).toEqual(['WT', 'TC', 'ET']);
    for (const r of Object.values(parsed.regions) as { threshold: number; minSize: number }[]) {
      expect([0.3, 0.5, 0.7]).toContain(r.threshold);
      expect([0, 20]).toContain(r.minSize);
    }
    const [, before] = /task defaults: mean lesion-wise Dice ([\d.]+)/.exec(stdout)!;
    const [, after] = /tuned: +mean lesion-wise Dice ([\d.]+)/.exec(stdout)!;
    expect(Number(after)).toBeGreaterThanOrEqual(Number(before!));
    const out = path.join(tmp, 'tuned');
    await mednext(['ensemble', path.join(tmp, 'pab'), '--postprocess', config, '--out', out, '-q']);
    expect((await readdir(out)).sort()).toEqual(ids.map((id) => `${id}.nii.gz`).sort());
  }, 180_000);
});
