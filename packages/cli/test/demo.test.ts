import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readNifti } from '@mednext-ts/io-nifti/node';
import { ESLint } from 'eslint';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { mednext, tempDir } from './cli-helpers.js';

const tmp = tempDir('mednext-demo-test-');
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Every file under `dir`, as paths relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('mednext demo', () => {
  it('segments a fresh phantom with the shipped model: WT lesion-wise Dice >= 0.85, files and report written', async () => {
    // No --out: the README's `npx mednext demo`, which writes to ./mednext-demo.
    const out = path.join(tmp, 'mednext-demo');
    const { stdout } = await mednext(['demo'], {}, tmp);
    expect(stdout).toMatch(/BraTS-SSA lesion-wise metrics \(protocol ssa\) on Phantom-glioma-424242/);
    const metrics = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.seed).toBe(424242);
    expect(metrics.metrics.regions.WT.LesionWise_Score_Dice).toBeGreaterThanOrEqual(0.85);
    expect(metrics.metrics.regions.WT.Legacy_Dice).toBeGreaterThanOrEqual(0.85);
    const files = await readdir(out);
    const firstRun = await listFiles(out);
    for (const f of [
      'Phantom-glioma-424242.nii.gz',
      'report.md',
      'Phantom-glioma-424242_axial.png',
      'Phantom-glioma-424242_sagittal.png',
      'input',
    ])
      expect(files).toContain(f);
    // One picture per plane: the prediction above the truth (axial: panels of 40x48 voxels scaled by 5, text
    // bands of 26 px for the header, the modality names, two row titles and the legend).
    const png = await readFile(path.join(out, 'Phantom-glioma-424242_axial.png'));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([4 * (200 + 4) - 4, 26 + 26 + 2 * (26 + 240) + 26]);
    expect(files.filter((f) => f.includes('_truth_'))).toEqual([]);
    const seg = await readNifti(path.join(out, 'Phantom-glioma-424242.nii.gz'));
    const t1n = await readNifti(path.join(out, 'input', 'Phantom-glioma-424242', 'Phantom-glioma-424242-t1n.nii.gz'));
    expect(seg.shape).toEqual(t1n.shape);
    expect(seg.affine).toEqual(t1n.affine);
    const report = await readFile(path.join(out, 'report.md'), 'utf8');
    expect(report).toMatch(/WT +\d\.\d{4}/);

    // A second demo in the same folder replaces the first: none of the previous case's files stay.
    await mednext(['demo', '--seed', '5', '--overlay-style', 'contour'], {}, tmp);
    const second = await listFiles(out);
    expect(second.filter((f) => f.includes('424242'))).toEqual([]);
    expect(second.sort()).toEqual(
      [
        'Phantom-glioma-5.nii.gz',
        ...['axial', 'coronal', 'sagittal'].map((p) => `Phantom-glioma-5_${p}.png`),
        ...['seg', 't1c', 't1n', 't2f', 't2w'].map((m) =>
          path.join('input', 'Phantom-glioma-5', `Phantom-glioma-5-${m}.nii.gz`),
        ),
        'metrics.json',
        'report.md',
      ].sort(),
    );

    // The README runs `npm test` right after the demo, from the repository root: every file the demo wrote there
    // must be ignored by git, prettier and eslint, or the lint step of `npm test` fails on it.
    const written = [...new Set([...firstRun, ...second])].map((f) => path.join('mednext-demo', f));
    expect(written).toContain(path.join('mednext-demo', 'metrics.json'));
    const git = await promisify(execFile)('git', ['check-ignore', '--no-index', ...written], { cwd: REPO_ROOT });
    expect(git.stdout.trim().split('\n').sort()).toEqual([...written].sort());
    const eslint = new ESLint({ cwd: REPO_ROOT });
    for (const file of written) {
      const abs = path.join(REPO_ROOT, file);
      const info = await prettier.getFileInfo(abs, {
        ignorePath: [path.join(REPO_ROOT, '.gitignore'), path.join(REPO_ROOT, '.prettierignore')],
      });
      expect(info.ignored, `prettier ignores ${file}`).toBe(true);
      expect(await eslint.isPathIgnored(abs), `eslint ignores ${file}`).toBe(true);
    }
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
