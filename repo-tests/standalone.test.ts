/**
 * io-nifti and metrics stand alone: packed as they would be published, installed into an empty project from the
 * tarballs only, they bring no TensorFlow.js, import without setting up a tfjs engine, and bundle for browsers
 * with esbuild (no externals, no `node:` stubs) into code that runs in Node and, where Chromium is installed,
 * in a browser page.
 */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../browser-tests/harness/chromium.js';
import { REPO_ROOT, npmPack, sh, tempDir } from './helpers.js';

const STANDALONE = ['@mednext-ts/io-nifti', '@mednext-ts/tensor3d', '@mednext-ts/metrics'];

/**
 * The probe the bundle runs: writes a prediction as gzipped NIfTI, reads it back and scores it against a truth
 * with the BraTS metrics. Truth: a 4x4x4 cube of edema (label 2); prediction: the same cube moved one voxel along
 * x, so the whole tumour overlaps in 3x4x4 = 48 of 64 voxels: Dice 2*48/128 = 0.75.
 */
const PROBE = `
import { NiftiImage, decodeNifti, encodeNifti } from '@mednext-ts/io-nifti';
import { evaluateCase } from '@mednext-ts/metrics';

async function probe() {
  const shape = [12, 12, 12];
  const cube = (x0) => {
    const data = new Uint8Array(12 * 12 * 12);
    for (let x = x0; x < x0 + 4; x++)
      for (let y = 4; y < 8; y++) for (let z = 4; z < 8; z++) data[(x * 12 + y) * 12 + z] = 2;
    return data;
  };
  const bytes = await encodeNifti(NiftiImage.fromCOrder(cube(5), shape, { spacing: [1, 1, 1] }), { gzip: true });
  const image = await decodeNifti(bytes);
  const metrics = evaluateCase({ gt: { data: cube(4), shape }, pred: { data: image.toCOrder().data, shape }, task: 'ssa' });
  return {
    gzipped: bytes[0] === 0x1f && bytes[1] === 0x8b,
    shape: image.shape,
    wtLegacyDice: metrics.regions.WT.Legacy_Dice,
    wtLesionDice: metrics.regions.WT.LesionWise_Score_Dice,
    tfjsEngine: typeof globalThis._tfengine,
  };
}
globalThis.__mednextProbe = probe();
`;

const EXPECTED = {
  gzipped: true,
  shape: [12, 12, 12],
  wtLegacyDice: 0.75,
  wtLesionDice: 0.75,
  tfjsEngine: 'undefined',
};

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  return total;
}

describe('io-nifti + metrics installed from their tarballs alone', () => {
  const tmp = tempDir('mednext-standalone-');
  const project = path.join(tmp, 'project');
  let bundle = '';

  beforeAll(async () => {
    const packed = await npmPack(STANDALONE, tmp);
    expect(packed.map((p) => p.name).sort()).toEqual([...STANDALONE].sort());
    await mkdir(project);
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'p', private: true, type: 'module' }));
    // --offline: everything must come from the tarballs (a dependency on the registry would fail here).
    await sh(
      'npm',
      ['install', '--offline', '--no-audit', '--no-fund', ...packed.map((p) => path.join(tmp, p.filename))],
      {
        cwd: project,
      },
    );
  });

  it('installs without TensorFlow.js (three packages, a few MB)', async () => {
    const modules = path.join(project, 'node_modules');
    expect((await readdir(modules)).sort()).toEqual(['.package-lock.json', '@mednext-ts']);
    expect((await readdir(path.join(modules, '@mednext-ts'))).sort()).toEqual(['io-nifti', 'metrics', 'tensor3d']);
    // tfjs alone is hundreds of MB; the three packages with sources and maps are a few.
    expect(await folderBytes(modules)).toBeLessThan(10 * 1024 * 1024);
  });

  it('type-checks a consumer with skipLibCheck off (no tfjs types reached)', async () => {
    await writeFile(
      path.join(project, 'consumer.ts'),
      "import { decodeNifti } from '@mednext-ts/io-nifti';\n" +
        "import { evaluateCase, type CaseMetrics } from '@mednext-ts/metrics';\n" +
        'export const uses: [typeof decodeNifti, typeof evaluateCase] = [decodeNifti, evaluateCase];\n' +
        'export type Metrics = CaseMetrics;\n',
    );
    const tsconfig = {
      compilerOptions: {
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2023', 'DOM'],
        types: [],
      },
      files: ['consumer.ts'],
    };
    await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    await sh(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project]);
  });

  it('imports and scores a case in a fresh Node process without setting up a tfjs engine', async () => {
    await writeFile(path.join(project, 'probe.mjs'), PROBE);
    const { stdout } = await sh(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "await import('./probe.mjs'); console.log(JSON.stringify(await globalThis.__mednextProbe))",
      ],
      { cwd: project },
    );
    expect(JSON.parse(stdout)).toEqual(EXPECTED);
  });

  it('bundles for browsers with esbuild, no externals, and the bundle runs in Node', async () => {
    const result = await build({
      absWorkingDir: project,
      entryPoints: ['probe.mjs'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    bundle = result.outputFiles[0]!.text;
    expect(bundle).not.toMatch(/from\s*["']node:|import\(["']node:|require\(["']node:/);
    await writeFile(path.join(project, 'bundle.mjs'), bundle);
    const { stdout } = await sh(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "await import('./bundle.mjs'); console.log(JSON.stringify(await globalThis.__mednextProbe))",
      ],
      { cwd: project },
    );
    expect(JSON.parse(stdout)).toEqual(EXPECTED);
  });

  const browser = findChromium();
  it.skipIf(browser.path === null)(
    `runs the browser bundle in Chromium (${browser.skip ?? browser.path})`,
    async () => {
      expect(bundle).not.toBe('');
      const instance = await chromium.launch({ executablePath: browser.path!, headless: true, args: CHROMIUM_ARGS });
      try {
        const page = await instance.newPage();
        await page.setContent('<!doctype html><title>probe</title>');
        await page.addScriptTag({ content: bundle, type: 'module' });
        await page.waitForFunction(() => '__mednextProbe' in globalThis);
        const result = await page.evaluate(() => (globalThis as { __mednextProbe?: Promise<unknown> }).__mednextProbe);
        expect(result).toEqual(EXPECTED);
      } finally {
        await instance.close();
      }
    },
  );

  it('the workspace build of metrics also imports without tfjs, although tfjs is installed here', async () => {
    const { stdout } = await sh(process.execPath, [
      '--input-type=module',
      '-e',
      "await import('@mednext-ts/metrics'); await import('@mednext-ts/tensor3d/volume'); console.log(typeof globalThis._tfengine)",
    ]);
    expect(stdout.trim()).toBe('undefined');
    const { stdout: control } = await sh(process.execPath, [
      '--input-type=module',
      '-e',
      "await import('@mednext-ts/tensor3d'); console.log(typeof globalThis._tfengine)",
    ]);
    expect(control.trim()).toBe('object');
  });
});
