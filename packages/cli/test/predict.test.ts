import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { NiftiImage } from '@mednext-ts/io-nifti';
import { readNifti, writeNifti } from '@mednext-ts/io-nifti/node';
import { readProbabilities } from '@mednext-ts/mednext/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { mednext, tempDir } from './cli-helpers.js';
import { AFFINE, writePhantomCase, writeTinyCheckpoint } from './inference-helpers.js';

const tmp = tempDir('mednext-predict-test-');
let cases: string;
let ids: string[];
let ckpt: string;
let ckpt2: string;

beforeAll(async () => {
  cases = path.join(tmp, 'cases');
  ids = [];
  for (const seed of [1, 2, 3]) ids.push((await writePhantomCase(cases, seed)).id);
  ckpt = path.join(tmp, 'a.safetensors');
  ckpt2 = path.join(tmp, 'b.safetensors');
  await writeTinyCheckpoint(ckpt, 1);
  await writeTinyCheckpoint(ckpt2, 2);
}, 120_000);

describe('mednext predict', () => {
  it('writes <ID>.nii.gz with the input geometry, probabilities consistent with the labels, and overlays', async () => {
    const out = path.join(tmp, 'one');
    const { stderr } = await mednext([
      'predict',
      path.join(cases, ids[0]!),
      '-m',
      ckpt,
      '-m',
      ckpt2,
      '--weights',
      '1,3',
      '--out',
      out,
      '--backend',
      'cpu',
      '--save-probabilities',
      'float32',
      '--overlay',
      '--thresholds',
      'WT=0.5,TC=0.5,ET=0.5',
    ]);
    expect(stderr).toMatch(/1 case\(s\)/);
    const files = (await readdir(out)).sort();
    expect(files).toEqual(
      [
        `${ids[0]}.nii.gz`,
        `${ids[0]}_axial.png`,
        `${ids[0]}_coronal.png`,
        `${ids[0]}_probabilities.nii.gz`,
        `${ids[0]}_probabilities.nii.gz.json`,
        `${ids[0]}_sagittal.png`,
      ].sort(),
    );
    const seg = await readNifti(path.join(out, `${ids[0]}.nii.gz`));
    const input = await readNifti(path.join(cases, ids[0]!, `${ids[0]}-t1n.nii.gz`));
    expect(seg.shape).toEqual([40, 36, 24]);
    expect(seg.datatype.name).toBe('uint8');
    expect(seg.affine).toEqual(input.affine);
    expect(seg.affine[0]).toEqual(AFFINE[0]);
    expect(seg.spacing).toEqual(input.spacing);
    expect(seg.header.qformCode).toBe(input.header.qformCode);
    expect(seg.header.sformCode).toBe(input.header.sformCode);
    // labels follow from the saved probabilities: WT->2, then TC->1, then ET->3 (no minimum sizes for SSA)
    const { probabilities, sidecar } = await readProbabilities(path.join(out, `${ids[0]}_probabilities.nii.gz`));
    expect(sidecar).toMatchObject({ task: 'ssa', regions: ['WT', 'TC', 'ET'], format: 'float32' });
    expect(sidecar.models.map((m) => m.weight)).toEqual([1, 3]);
    const labels = seg.toCOrder().data;
    const n = labels.length;
    for (let i = 0; i < n; i++) {
      const [wt, tc, et] = [probabilities.data[i]!, probabilities.data[n + i]!, probabilities.data[2 * n + i]!];
      const expected = et >= 0.5 ? 3 : tc >= 0.5 ? 1 : wt >= 0.5 ? 2 : 0;
      expect(labels[i]).toBe(expected);
    }
    // outside the brain (non-zero box) the probabilities are 0 and nothing is labelled
    expect(probabilities.data[0]).toBe(0);
    expect(labels[0]).toBe(0);
  }, 180_000);

  it('shards a folder of cases, skips finished cases and reads SLURM variables', async () => {
    const out = path.join(tmp, 'sharded');
    const common = [cases, '-m', ckpt, '--out', out, '--backend', 'cpu', '--task', 'ssa'];
    await mednext(['predict', ...common, '--shard', '1/2']);
    expect((await readdir(out)).sort()).toEqual([`${ids[1]}.nii.gz`]);
    const first = await stat(path.join(out, `${ids[1]}.nii.gz`));
    // shard 0 of 2 from SLURM: cases 0 and 2
    const { stderr } = await mednext(['predict', ...common], { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2' });
    expect(stderr).toMatch(/shard 0\/2 \(from SLURM_ARRAY_TASK_ID/);
    expect((await readdir(out)).sort()).toEqual(ids.map((id) => `${id}.nii.gz`).sort());
    // a rerun over everything skips all three and leaves the files untouched
    const rerun = await mednext(['predict', ...common]);
    expect(rerun.stderr).toMatch(/0 predicted, 3 skipped/);
    expect((await stat(path.join(out, `${ids[1]}.nii.gz`))).mtimeMs).toBe(first.mtimeMs);
    // no temporary files are left behind
    expect((await readdir(out)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 240_000);

  it('goes on after a case that fails and exits with an error listing it', async () => {
    const root = path.join(tmp, 'with-broken');
    await writePhantomCase(root, 1);
    const id = 'BraTS-SSA-99999-000';
    await mkdir(path.join(root, id), { recursive: true });
    for (const m of ['t1n', 't1c', 't2w', 't2f'])
      await writeNifti(
        path.join(root, id, `${id}-${m}.nii.gz`),
        NiftiImage.fromCOrder(new Float32Array(40 * 36 * 24), [40, 36, 24]),
      );
    const out = path.join(tmp, 'broken-out');
    const error = await mednext(['predict', root, '-m', ckpt, '--out', out, '--backend', 'cpu']).then(
      () => undefined,
      (e: { stderr: string; code: number }) => e,
    );
    expect(error?.code).toBe(1);
    expect(error?.stderr.replace(/\s*›\s*/g, ' ')).toMatch(/1 predicted, 0 skipped \(output existed\), 1 failed/);
    expect(error?.stderr).toMatch(/BraTS-SSA-99999-000/);
    expect(await readdir(out)).toEqual([`${ids[0]}.nii.gz`]);
  }, 180_000);

  it('accepts four explicit files and reports bad arguments clearly', async () => {
    const dir = path.join(cases, ids[2]!);
    const files = ['t2f', 't1n', 't2w', 't1c'].map((m) => path.join(dir, `${ids[2]}-${m}.nii.gz`));
    const out = path.join(tmp, 'files');
    await mednext(['predict', ...files, '-m', ckpt, '--out', out, '--backend', 'cpu', '-q']);
    expect(await readdir(out)).toEqual([`${ids[2]}.nii.gz`]);
    await expect(mednext(['predict', files[0]!, '-m', ckpt, '--out', out, '--backend', 'cpu'])).rejects.toThrow(
      /1 file\(s\) given; pass exactly one per modality/,
    );
    await expect(mednext(['predict', dir, '-m', ckpt, '--out', out, '--thresholds', 'XX=0.3'])).rejects.toThrow(
      /--thresholds: unknown region 'XX'/,
    );
    await expect(mednext(['predict', dir, '-m', ckpt, '--out', out, '--shard', '2/2'])).rejects.toThrow(
      /shard index 2 is not in 0..1/,
    );
    await expect(mednext(['predict', dir, '-m', path.join(tmp, 'missing.safetensors'), '--out', out])).rejects.toThrow(
      /missing.safetensors: cannot read/,
    );
  }, 180_000);
});
