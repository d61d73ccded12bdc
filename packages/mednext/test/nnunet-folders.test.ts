/**
 * Reading cases named as nnU-Net names them: `<ID>_0000.nii.gz` images with `<ID>.nii.gz` labels,
 * in case folders or in flat `imagesTr`/`labelsTr` folders.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NiftiImage } from '@mednext-ts/io-nifti';
import { writeNifti } from '@mednext-ts/io-nifti/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverCases } from '../src/data/node/discover.js';
import { preprocessOneCase } from '../src/data/node/preprocess.js';
import { loadCaseInput, resolveCaseInputs } from '../src/inference/node/inputs.js';
import { NNUNET_NAMING, type TaskDefinition } from '../src/tasks/index.js';
import { TINY_RECIPE } from './helpers/tiny-recipe.js';

const task: TaskDefinition = {
  id: 'two-channel',
  description: 'test',
  labels: [{ value: 1, name: 'A', description: 'a' }],
  regions: [{ name: 'A', labels: [1], threshold: 0.5, minSize: 0 }],
  modalities: ['ct', 'pet'],
  regionsToLabels: [{ region: 'A', label: 1 }],
  training: TINY_RECIPE,
  normalization: 'none',
  inputNaming: NNUNET_NAMING,
};
const shape: [number, number, number] = [4, 3, 2];
let tmp: string;

/** Case `id`: channel c holds `base + c` everywhere; its label map holds `labelValue` in voxel 0. */
async function writeCase(imagesDir: string, labelsDir: string, id: string, base: number): Promise<void> {
  await mkdir(imagesDir, { recursive: true });
  await mkdir(labelsDir, { recursive: true });
  for (const c of [0, 1]) {
    const name = `${id}_${String(c).padStart(4, '0')}.nii.gz`;
    await writeNifti(path.join(imagesDir, name), NiftiImage.fromCOrder(new Float32Array(24).fill(base + c), shape));
  }
  const labels = new Uint8Array(24);
  labels[0] = 1;
  await writeNifti(path.join(labelsDir, `${id}.nii.gz`), NiftiImage.fromCOrder(labels, shape));
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mednext-nnunet-test-'));
  const flat = path.join(tmp, 'Dataset001');
  await writeCase(path.join(flat, 'imagesTr'), path.join(flat, 'labelsTr'), 'case_002', 20);
  await writeCase(path.join(flat, 'imagesTr'), path.join(flat, 'labelsTr'), 'case_001', 10);
  await writeCase(path.join(tmp, 'folders', 'x_1'), path.join(tmp, 'folders', 'x_1'), 'x_1', 30);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('nnU-Net file names', () => {
  it('finds the cases of a flat imagesTr folder and reads their labels from labelsTr', async () => {
    const imagesTr = path.join(tmp, 'Dataset001', 'imagesTr');
    const cases = await discoverCases([{ path: imagesTr, source: 'd1' }], task.modalities, NNUNET_NAMING);
    expect(cases).toEqual([
      { id: 'case_001', source: 'd1', dir: imagesTr, flat: true },
      { id: 'case_002', source: 'd1', dir: imagesTr, flat: true },
    ]);
    const out = path.join(tmp, 'cache');
    await mkdir(out, { recursive: true });
    const { meta, repaired } = await preprocessOneCase(cases[1]!, task, out);
    expect(repaired).toEqual([]);
    expect(meta.id).toBe('case_002');
    expect(meta.labels).toEqual([1]);
    expect(meta.files).toEqual({
      ct: path.join(imagesTr, 'case_002_0000.nii.gz'),
      pet: path.join(imagesTr, 'case_002_0001.nii.gz'),
      seg: path.join(tmp, 'Dataset001', 'labelsTr', 'case_002.nii.gz'),
    });
    // The task's normalisation is recorded per modality.
    expect(meta.normalization.stats.map((s) => s.method)).toEqual([{ method: 'none' }, { method: 'none' }]);
  });

  it('reads case folders too, and predict inputs from either layout', async () => {
    const cases = await discoverCases(
      [{ path: path.join(tmp, 'folders'), source: 's' }],
      task.modalities,
      NNUNET_NAMING,
    );
    expect(cases).toEqual([{ id: 'x_1', source: 's', dir: path.join(tmp, 'folders', 'x_1') }]);
    const imagesTr = path.join(tmp, 'Dataset001', 'imagesTr');
    const inputs = await resolveCaseInputs([imagesTr], task.modalities, NNUNET_NAMING);
    expect(inputs).toEqual([
      { id: 'case_001', dir: imagesTr, flat: true },
      { id: 'case_002', dir: imagesTr, flat: true },
    ]);
    const loaded = await loadCaseInput(inputs[1]!, task.modalities, NNUNET_NAMING);
    expect(loaded.id).toBe('case_002');
    expect(loaded.image.shape).toEqual([2, 4, 3, 2]);
    expect([loaded.image.data[0], loaded.image.data[24]]).toEqual([20, 21]);
    const folder = await resolveCaseInputs([path.join(tmp, 'folders')], task.modalities, NNUNET_NAMING);
    expect(folder).toEqual([{ id: 'x_1', dir: path.join(tmp, 'folders', 'x_1') }]);
    const explicit = await resolveCaseInputs(
      [path.join(imagesTr, 'case_001_0000.nii.gz'), path.join(imagesTr, 'case_001_0001.nii.gz')],
      task.modalities,
      NNUNET_NAMING,
    );
    expect(explicit[0]!.id).toBe('case_001');
  });
});
