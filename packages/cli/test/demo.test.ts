import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { readNifti } from '@mednext-ts/io-nifti/node';
import { describe, expect, it } from 'vitest';
import { mednext, tempDir } from './cli-helpers.js';

const tmp = tempDir('mednext-demo-test-');

describe('mednext demo', () => {
  it('segments a fresh phantom with the shipped model: WT lesion-wise Dice >= 0.85, files and report written', async () => {
    const out = path.join(tmp, 'demo');
    const { stdout } = await mednext(['demo', '--out', out]);
    expect(stdout).toMatch(/BraTS-SSA lesion-wise metrics \(protocol ssa\) on Phantom-glioma-424242/);
    const metrics = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.seed).toBe(424242);
    expect(metrics.metrics.regions.WT.LesionWise_Score_Dice).toBeGreaterThanOrEqual(0.85);
    expect(metrics.metrics.regions.WT.Legacy_Dice).toBeGreaterThanOrEqual(0.85);
    const files = await readdir(out);
    for (const f of [
      'Phantom-glioma-424242.nii.gz',
      'report.md',
      'Phantom-glioma-424242_axial.png',
      'Phantom-glioma-424242_truth_sagittal.png',
      'input',
    ])
      expect(files).toContain(f);
    const seg = await readNifti(path.join(out, 'Phantom-glioma-424242.nii.gz'));
    const t1n = await readNifti(path.join(out, 'input', 'Phantom-glioma-424242', 'Phantom-glioma-424242-t1n.nii.gz'));
    expect(seg.shape).toEqual(t1n.shape);
    expect(seg.affine).toEqual(t1n.affine);
    const report = await readFile(path.join(out, 'report.md'), 'utf8');
    expect(report).toMatch(/WT +\d\.\d{4}/);
  }, 300_000);

  it('writes a phantom dataset as BraTS case folders', async () => {
    const out = path.join(tmp, 'phantoms');
    await mednext(['demo', 'phantoms', '--count', '2', '--variant', 'ped', '--shape', '24x24x16', '--out', out, '-q']);
    expect((await readdir(out)).sort()).toEqual(['Phantom-ped-1000', 'Phantom-ped-1001']);
    const names = (await readdir(path.join(out, 'Phantom-ped-1000'))).sort();
    expect(names).toEqual(['t1c', 't1n', 't2f', 't2w', 'seg'].map((m) => `Phantom-ped-1000-${m}.nii.gz`).sort());
    const seg = await readNifti(path.join(out, 'Phantom-ped-1000', 'Phantom-ped-1000-seg.nii.gz'));
    expect(seg.shape).toEqual([24, 24, 16]);
    expect(seg.spacing).toEqual([4, 4, 4]);
    const values = new Set(seg.toCOrder().data);
    expect([...values].every((v) => [0, 1, 2, 3, 4].includes(v))).toBe(true);
  }, 120_000);
});
