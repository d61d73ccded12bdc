import { mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NiftiError, NiftiImage, type Mat4 } from '../src/index.js';
import { loadBratsCase, readNifti, writeNifti } from '../src/node/index.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'io-nifti-brats-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SHAPE: [number, number, number] = [5, 4, 3];
const N = 5 * 4 * 3;
const AFFINE: Mat4 = [
  [-1, 0, 0, 0],
  [0, -1, 0, 239],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];
const MODALITY_VALUE: Record<string, number> = { t1n: 1000, t1c: 2000, t2w: 3000, t2f: 4000 };
const ID = 'BraTS-GLI-00042-000';

/** C-order voxel value of a modality: its base value plus the C-order index. */
function modalityImage(name: string, shape = SHAPE, affine = AFFINE): NiftiImage {
  const n = shape[0] * shape[1] * shape[2];
  const data = Int16Array.from({ length: n }, (_, i) => MODALITY_VALUE[name]! + i);
  return NiftiImage.fromCOrder(data, shape, { affine });
}

const LABELS = Uint8Array.from({ length: N }, (_, i) => [0, 1, 2, 3][i % 4]!);

async function makeCase(dir: string, skip: string[] = [], overrides: Record<string, NiftiImage> = {}): Promise<void> {
  mkdirSync(dir, { recursive: true });
  // Written in an order unlike the channel order, so the loader must sort by modality itself.
  for (const m of ['t2f', 't1c', 't2w', 't1n']) {
    if (!skip.includes(m)) await writeNifti(path.join(dir, `${ID}-${m}.nii.gz`), overrides[m] ?? modalityImage(m));
  }
  if (!skip.includes('seg')) {
    await writeNifti(
      path.join(dir, `${ID}-seg.nii.gz`),
      overrides.seg ?? NiftiImage.fromCOrder(LABELS, SHAPE, { affine: AFFINE }),
    );
  }
}

describe('loadBratsCase', () => {
  it('stacks t1n, t1c, t2w, t2f as C-order float32 [4, nx, ny, nz] with the label map', async () => {
    const dir = path.join(tmp, 'ok');
    await makeCase(dir);
    const c = await loadBratsCase(dir);
    expect(c.id).toBe(ID);
    expect(c.modalities).toEqual(['t1n', 't1c', 't2w', 't2f']);
    expect(c.image.shape).toEqual([4, 5, 4, 3]);
    expect(c.image.data).toBeInstanceOf(Float32Array);
    c.modalities.forEach((m, ch) => {
      for (const i of [0, 7, N - 1]) expect(c.image.data[ch * N + i]).toBe(MODALITY_VALUE[m]! + i);
    });
    expect(c.label!.shape).toEqual(SHAPE);
    expect(c.label!.data).toEqual(LABELS);
    expect(c.reference.affine).toEqual(AFFINE);
    expect(c.files.seg).toBe(path.join(dir, `${ID}-seg.nii.gz`));
  });

  it('honours a task-specific modality order and loadLabel: false', async () => {
    const dir = path.join(tmp, 'order');
    await makeCase(dir);
    const c = await loadBratsCase(dir, { modalities: ['t2f', 't1c'], loadLabel: false });
    expect(c.image.shape).toEqual([2, 5, 4, 3]);
    expect(c.image.data[0]).toBe(4000);
    expect(c.image.data[N]).toBe(2000);
    expect(c.label).toBeUndefined();
  });

  it('a segmentation written with the reference carries the case geometry exactly', async () => {
    const dir = path.join(tmp, 'geom');
    await makeCase(dir);
    const c = await loadBratsCase(dir);
    const out = path.join(dir, `${ID}-pred.nii.gz`);
    await writeNifti(
      out,
      NiftiImage.fromCOrder(c.label!.data, c.label!.shape, { reference: c.reference, datatype: 2 }),
    );
    const back = await readNifti(out);
    const ref = c.reference.header;
    expect([back.header.srowX, back.header.srowY, back.header.srowZ]).toEqual([ref.srowX, ref.srowY, ref.srowZ]);
    expect([back.header.quaternB, back.header.quaternC, back.header.quaternD, back.header.pixdim]).toEqual([
      ref.quaternB,
      ref.quaternC,
      ref.quaternD,
      ref.pixdim,
    ]);
    expect(back.datatype.name).toBe('uint8');
    expect(back.rawToCOrder().data).toEqual(c.label!.data);
  });

  it('a missing modality lists what was found', async () => {
    const dir = path.join(tmp, 'missing');
    await makeCase(dir, ['t2w']);
    const error = await loadBratsCase(dir).catch((e: unknown) => e as NiftiError);
    expect(error).toBeInstanceOf(NiftiError);
    expect((error as NiftiError).code).toBe('MISSING_FILE');
    expect((error as NiftiError).message).toContain('missing modality t2w');
    expect((error as NiftiError).message).toContain(
      `found: ${ID}-seg.nii.gz, ${ID}-t1c.nii.gz, ${ID}-t1n.nii.gz, ${ID}-t2f.nii.gz`,
    );
  });

  it('names the file whose shape or affine differs', async () => {
    const shapeDir = path.join(tmp, 'shape');
    await makeCase(shapeDir, [], { t2w: modalityImage('t2w', [5, 4, 4]) });
    await expect(loadBratsCase(shapeDir)).rejects.toThrow(
      new RegExp(`${ID}-t2w\\.nii\\.gz: shape \\[5, 4, 4\\] differs from t1n`),
    );
    const shifted = AFFINE.map((r) => [...r]);
    shifted[0]![3] = 0.5;
    const affDir = path.join(tmp, 'affine');
    await makeCase(affDir, [], { t1c: modalityImage('t1c', SHAPE, shifted) });
    const error = (await loadBratsCase(affDir).catch((e: unknown) => e)) as NiftiError;
    expect(error.code).toBe('AFFINE_MISMATCH');
    expect(error.file).toBe(path.join(affDir, `${ID}-t1c.nii.gz`));
  });

  it('rejects label maps that are not integers 0..255', async () => {
    const dir = path.join(tmp, 'badseg');
    await makeCase(dir, [], { seg: NiftiImage.fromCOrder(new Float32Array(N).fill(0.5), SHAPE, { affine: AFFINE }) });
    await expect(loadBratsCase(dir)).rejects.toThrow(/labels must be integers 0\.\.255/);
    unlinkSync(path.join(dir, `${ID}-seg.nii.gz`));
    expect((await loadBratsCase(dir)).label).toBeUndefined();
  });
});
