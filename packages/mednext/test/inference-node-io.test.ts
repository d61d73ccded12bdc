import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NiftiImage } from '@mednext-ts/io-nifti';
import { readNifti, writeNifti } from '@mednext-ts/io-nifti/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCaseInput, resolveCaseInputs } from '../src/inference/node/inputs.js';
import { readProbabilities, writeProbabilities, writeSegmentation } from '../src/inference/node/outputs.js';

const modalities = ['t1n', 't1c', 't2w', 't2f'];
const affine = [
  [-1.5, 0, 0, 10],
  [0, 2, 0, -20],
  [0, 0, 2.5, 5],
  [0, 0, 0, 1],
];
let tmp: string;

/** A case folder whose modality k holds the value k + 1 everywhere (so channel order can be checked). */
async function writeCase(root: string, id: string): Promise<string> {
  const dir = path.join(root, id);
  await mkdir(dir, { recursive: true });
  for (const [k, m] of modalities.entries()) {
    await writeNifti(
      path.join(dir, `${id}-${m}.nii.gz`),
      NiftiImage.fromCOrder(new Float32Array(4 * 3 * 2).fill(k + 1), [4, 3, 2], { affine }),
    );
  }
  return dir;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mednext-io-test-'));
  await writeCase(path.join(tmp, 'many'), 'Case-B');
  await writeCase(path.join(tmp, 'many'), 'Case-A');
  await mkdir(path.join(tmp, 'many', 'notes'));
  await writeFile(path.join(tmp, 'many', 'notes', 'readme.txt'), 'not a case');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('resolveCaseInputs', () => {
  it('finds one case folder, a folder of cases (skipping other folders), and explicit files in any order', async () => {
    const one = await resolveCaseInputs([path.join(tmp, 'many', 'Case-A')], modalities);
    expect(one).toEqual([{ id: 'Case-A', dir: path.join(tmp, 'many', 'Case-A') }]);
    const many = await resolveCaseInputs([path.join(tmp, 'many')], modalities);
    expect(many.map((c) => c.id)).toEqual(['Case-A', 'Case-B']);
    const dir = path.join(tmp, 'many', 'Case-B');
    const files = ['t2f', 't1c', 't1n', 't2w'].map((m) => path.join(dir, `Case-B-${m}.nii.gz`));
    const [explicit] = await resolveCaseInputs(files, modalities);
    expect(explicit).toEqual({
      id: 'Case-B',
      files: Object.fromEntries(modalities.map((m) => [m, path.join(dir, `Case-B-${m}.nii.gz`)])),
    });
    const loaded = await loadCaseInput(explicit!, modalities);
    expect(loaded.image.shape).toEqual([4, 4, 3, 2]);
    // channel k holds k + 1: the files were put back in modality order
    expect([0, 24, 48, 72].map((o) => loaded.image.data[o])).toEqual([1, 2, 3, 4]);
  });

  it('explains what is wrong with the inputs', async () => {
    await expect(resolveCaseInputs([], modalities)).rejects.toThrow(/no input given/);
    await expect(resolveCaseInputs([path.join(tmp, 'nope')], modalities)).rejects.toThrow(
      /nope: no such file or folder/,
    );
    await expect(resolveCaseInputs([path.join(tmp, 'many', 'notes')], modalities)).rejects.toThrow(
      /neither a case folder/,
    );
    await expect(resolveCaseInputs([path.join(tmp, 'many', 'notes', 'readme.txt')], modalities)).rejects.toThrow(
      /1 file\(s\) given/,
    );
    await expect(
      resolveCaseInputs([path.join(tmp, 'many'), path.join(tmp, 'many', 'Case-A')], modalities),
    ).rejects.toThrow(/Case-A appears twice/);
  });
});

describe('outputs', () => {
  it('writes labels and quantised probabilities with the reference geometry, atomically', async () => {
    const ref = await readNifti(path.join(tmp, 'many', 'Case-A', 'Case-A-t1n.nii.gz'));
    const out = path.join(tmp, 'out');
    await mkdir(out);
    const labels = Uint8Array.from({ length: 24 }, (_, i) => i % 4);
    await writeSegmentation(path.join(out, 'Case-A.nii.gz'), labels, [4, 3, 2], ref);
    const seg = await readNifti(path.join(out, 'Case-A.nii.gz'));
    expect(seg.affine).toEqual(ref.affine);
    expect(seg.datatype.name).toBe('uint8');
    expect(Array.from(seg.toCOrder().data)).toEqual(Array.from(labels));
    const probs = {
      data: Float32Array.from({ length: 2 * 24 }, (_, i) => i / 47),
      shape: [2, 4, 3, 2] as [number, number, number, number],
    };
    for (const format of ['uint8', 'uint16', 'float32'] as const) {
      const file = path.join(out, `p-${format}.nii.gz`);
      await writeProbabilities(file, probs, ref, format, {
        task: 't',
        regions: ['A', 'B'],
        models: [{ file: 'm', weight: 1 }],
      });
      const back = await readProbabilities(file);
      expect(back.sidecar).toEqual({ task: 't', regions: ['A', 'B'], models: [{ file: 'm', weight: 1 }], format });
      expect(back.probabilities.shape).toEqual([2, 4, 3, 2]);
      const step = format === 'uint8' ? 1 / 255 : format === 'uint16' ? 1 / 65535 : 0;
      for (let i = 0; i < 48; i++)
        expect(Math.abs(back.probabilities.data[i]! - probs.data[i]!)).toBeLessThanOrEqual(step / 2 + 1e-6);
      expect(back.reference.affine).toEqual(ref.affine);
    }
    expect((await readdir(out)).filter((f) => f.includes('.tmp'))).toEqual([]);

    // The sidecar is written after the map: a map that cannot be written leaves no orphan sidecar.
    const bad = path.join(out, 'p-bad.nii.gz.part');
    await expect(
      writeProbabilities(bad, probs, ref, 'uint8', { task: 't', regions: ['A', 'B'], models: [] }),
    ).rejects.toThrow(/must end in \.nii or \.nii\.gz/);
    expect((await readdir(out)).filter((f) => f.startsWith('p-bad'))).toEqual([]);
  });
});
