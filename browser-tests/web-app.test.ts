/**
 * End-to-end test of the web app (packages/web) as a user meets it: `mednext serve`, headless Chromium,
 * a phantom case given through the file input, the demo model, a run, the download. The segmentation
 * must be the one `mednext predict` writes for the same case, model and options, the metrics table must
 * equal `mednext evaluate`'s, and no request may leave the page's origin.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { decodeNiftiSync } from '@mednext-ts/io-nifti';
import { wasmKernels } from '@mednext-ts/tensor3d';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TESTS_ROOT } from './harness/bundle.js';
import { CHROMIUM_ARGS } from './harness/chromium.js';
import { skipReason } from './harness/page.js';
import { MEDNEXT_BIN, buildWebApp, serveWebApp, type ServedApp } from './harness/web-app.js';
import { deflateZipEntries } from './harness/deflate-zip.js';
import { inject } from 'vitest';

const run = promisify(execFile);
const mednext = (...args: string[]) =>
  run(process.execPath, [MEDNEXT_BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });

/** Where the viewer screenshot is kept (gitignored). */
const ARTIFACTS = join(TESTS_ROOT, '.artifacts');
const DEMO_MODEL = join(TESTS_ROOT, '..', 'packages', 'mednext', 'models', 'demo', 'model.safetensors');
/** A phantom never seen in training (the seed `mednext demo` uses), on the demo model's grid. */
const SEED = 424242;
const CASE_ID = `Phantom-glioma-${SEED}`;
/** The seed paper's fixtures: a Lightning checkpoint (MedNeXt-B layout, width 2) and a 1 mm case it segments. */
const SEED_FIXTURES = join(TESTS_ROOT, '..', 'packages', 'mednext', 'test', 'fixtures', 'seed-paper');
const SEED_CKPT = join(SEED_FIXTURES, 'model-b3.ckpt');
const SEED_CASE_ID = 'BraTS-SSA-99017-000';
const SEED_CASE = join(SEED_FIXTURES, SEED_CASE_ID);

/** Options of the second run, given to the page and to `mednext predict` alike. */
const TUNED = { thresholds: 'WT=0.4,TC=0.6,ET=0.6', minSize: 'ET=5,TC=5,WT=20' };

/** Options given alike to the page and to `mednext predict` (no models: the demo model). */
interface RunOptions {
  thresholds?: string;
  minSize?: string;
  models?: string[];
  weights?: string;
  /** `--task` / the page's task selector (default: from the checkpoint). */
  task?: string;
  /** The case folder and its ID (default: the phantom). */
  caseDir?: string;
  caseId?: string;
}

const skip = skipReason();

describe.skipIf(skip !== null)(`web app end to end${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let work: string;
  let caseDir: string;
  let app: ServedApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const outside: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(os.tmpdir(), 'mednext-web-'));
    const built = await buildWebApp();
    console.log(`web app ${built.rebuilt ? 'built' : 'up to date'} in ${built.ms.toFixed(0)} ms`);
    await mednext('demo', 'phantoms', '--count', '1', '--first-seed', String(SEED), '--out', join(work, 'cases'), '-q');
    caseDir = join(work, 'cases', CASE_ID);
    app = await serveWebApp();
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: inject('chromiumPath')!, headless: true, args: CHROMIUM_ARGS });
    context = await browser.newContext({ acceptDownloads: true });
    // Every request of the page and its workers; anything not from the page's origin is refused and recorded.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      requests.push(url);
      if (url.startsWith(`${app.origin}/`) || url.startsWith('blob:') || url.startsWith('data:'))
        return route.continue();
      outside.push(url);
      return route.abort('blockedbyclient');
    });
    context.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(`${app.origin}/`) && !url.startsWith('blob:') && !url.startsWith('data:')) outside.push(url);
    });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${app.origin}/`);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Gives the page the case folder's files through the file input. */
  async function giveCase(files = readdirSync(caseDir).map((f) => join(caseDir, f))): Promise<string> {
    await page.setInputFiles('#files', files);
    return (await page.textContent('#case-status')) ?? '';
  }

  /** Runs the page with the options and returns the downloaded segmentation. */
  async function runPage(options: RunOptions): Promise<Buffer> {
    await page.evaluate(() => (document.querySelector('details')!.open = true));
    await page.fill('#thresholds', options.thresholds ?? '');
    await page.fill('#min-sizes', options.minSize ?? '');
    await page.fill('#threads', '2');
    await page.fill('#weights', options.weights ?? '');
    await page.setInputFiles('#models', options.models ?? []);
    await page.selectOption('#task', options.task ?? '');
    // Bit-identical arithmetic: fused multiply-add only where this Node has it too.
    await page.selectOption('#fma', wasmKernels.hasRelaxedSimd() ? 'auto' : 'off');
    await page.click('#run');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), undefined, {
      timeout: 120_000,
    });
    expect(await page.textContent('#run-status'), 'page run status').toMatch(/^done in/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe(`${options.caseId ?? CASE_ID}.nii.gz`);
    const file = join(work, `page-${Date.now()}.nii.gz`);
    await download.saveAs(file);
    return readFileSync(file);
  }

  /** `mednext predict` on the same case folder and model; returns the written segmentation. */
  async function runCli(out: string, options: RunOptions): Promise<Buffer> {
    const models = options.models ?? [DEMO_MODEL];
    const extra = [
      ...models.flatMap((m) => ['-m', m]),
      ...(options.weights ? ['--weights', options.weights] : []),
      ...(options.thresholds ? ['--thresholds', options.thresholds] : []),
      ...(options.minSize ? ['--min-size', options.minSize] : []),
      ...(options.task ? ['--task', options.task] : []),
    ];
    const input = options.caseDir ?? caseDir;
    await mednext('predict', input, '--out', out, '--backend', 'wasm', '--threads', '2', '-q', ...extra);
    return readFileSync(join(out, `${options.caseId ?? CASE_ID}.nii.gz`));
  }

  /** Both files hold the same NIfTI bytes once un-gzipped (gzip framing may differ between zlib and the browser). */
  function expectSameSegmentation(fromPage: Buffer, fromCli: Buffer): void {
    const a = gunzipSync(fromPage);
    const b = gunzipSync(fromCli);
    const pageImage = decodeNiftiSync(new Uint8Array(a));
    const cliImage = decodeNiftiSync(new Uint8Array(b));
    expect(pageImage.shape).toEqual(cliImage.shape);
    expect(pageImage.affine).toEqual(cliImage.affine);
    const pv = pageImage.toVolume().data;
    const cv = cliImage.toVolume().data;
    let differ = 0;
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < cv.length; i++) {
      if (pv[i] !== cv[i]) differ++;
      counts[Number(cv[i])]!++;
    }
    console.log(`segmentation voxels by label (CLI): ${counts.join(', ')}; differing voxels: ${differ}`);
    // A real tumour was found, so the equality below compares something.
    expect(counts[2]! + counts[3]!).toBeGreaterThan(50);
    expect(differ).toBe(0);
    expect(Buffer.compare(a, b), 'un-gzipped NIfTI bytes').toBe(0);
  }

  it('states on the page that nothing is uploaded', async () => {
    const text = ((await page.textContent('#privacy')) ?? '').replace(/\s+/g, ' ');
    expect(text).toMatch(/Your images stay on this computer\..*nothing is uploaded/);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  });

  it('refuses a case with a missing modality, naming it', async () => {
    const files = readdirSync(caseDir)
      .filter((f) => !f.endsWith('-t2f.nii.gz'))
      .map((f) => join(caseDir, f));
    const status = await giveCase(files);
    expect(status).toMatch(/missing \*-t2f\.nii\.gz/);
    expect(await page.isDisabled('#run')).toBe(true);
  });

  it('accepts the case dropped as files on the drop zone', async () => {
    const files = readdirSync(caseDir).map((f) => ({ name: f, data: [...readFileSync(join(caseDir, f))] }));
    const transfer = await page.evaluateHandle((list) => {
      const dt = new DataTransfer();
      for (const f of list) dt.items.add(new File([new Uint8Array(f.data)], f.name));
      return dt;
    }, files);
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: transfer });
    await page.waitForFunction(() => /^case /.test(document.querySelector('#case-status')?.textContent ?? ''));
    expect(await page.textContent('#case-status')).toContain(`case ${CASE_ID}: 4 modalities, label map`);
    expect(await page.isDisabled('#run')).toBe(false);
  });

  it('segments the phantom exactly as `mednext predict` does, with the demo model and default options', async () => {
    const status = await giveCase();
    expect(status).toContain(`case ${CASE_ID}: 4 modalities, label map ${CASE_ID}-seg.nii.gz`);
    const fromPage = await runPage({});
    const fromCli = await runCli(join(work, 'cli-default'), {});
    expectSameSegmentation(fromPage, fromCli);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.waitForFunction(() => document.body.dataset.viewer === 'ready', undefined, { timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'web-app-viewer.png'), fullPage: true });
  }, 180_000);

  it('viewer: per-label toggles, opacity and background change what is drawn', async () => {
    const canvas = page.locator('#viewer');
    const shot = async () => canvas.screenshot();
    const base = await shot();
    expect(await page.$$eval('#label-toggles input', (boxes) => boxes.length)).toBe(3);
    await page.uncheck('#label-toggles input[data-label="2"]');
    const withoutEdema = await shot();
    expect(withoutEdema.equals(base), 'hiding SNFH changes the picture').toBe(false);
    await page.check('#label-toggles input[data-label="2"]');
    await page.fill('#opacity', '0');
    await page.dispatchEvent('#opacity', 'input');
    const noOverlay = await shot();
    expect(noOverlay.equals(base), 'opacity 0 changes the picture').toBe(false);
    await page.fill('#opacity', '0.6');
    await page.dispatchEvent('#opacity', 'input');
    await page.selectOption('#background', '3');
    await page.waitForTimeout(500);
    const flair = await shot();
    expect(flair.equals(base), 'the t2f background differs from t1n').toBe(false);
    // The overlay is still drawn over the new background.
    await page.uncheck('#label-toggles input[data-label="2"]');
    expect((await shot()).equals(flair), 'labels still over the t2f background').toBe(false);
    await page.check('#label-toggles input[data-label="2"]');
    expect(await page.evaluate(() => document.body.dataset.viewer)).toBe('ready');
    await page.selectOption('#background', '0');
  });

  it('shows the lesion-wise metrics `mednext evaluate` gives for that segmentation', async () => {
    const json = join(work, 'metrics.json');
    await mednext(
      'evaluate',
      '--task',
      'ssa',
      '--labels',
      join(caseDir, `${CASE_ID}-seg.nii.gz`),
      '--pred',
      join(work, 'cli-default', `${CASE_ID}.nii.gz`),
      '--json',
      json,
      '-q',
    );
    const expected = JSON.parse(readFileSync(json, 'utf8')) as {
      cases: { regions: Record<string, Record<string, number | null>> }[];
    };
    const cells = await page.$$eval('#metrics-table td[data-metric]', (tds) =>
      tds.map((td) => ({
        region: (td as HTMLElement).dataset.region!,
        metric: (td as HTMLElement).dataset.metric!,
        value: (td as HTMLElement).dataset.value!,
      })),
    );
    expect(cells.length).toBe(3 * 9);
    for (const cell of cells) {
      const want = expected.cases[0]!.regions[cell.region]![cell.metric];
      // JSON has no NaN: `mednext evaluate --json` writes it as null.
      const got = Number(cell.value);
      if (want === null) expect(Number.isNaN(got), `${cell.region} ${cell.metric}`).toBe(true);
      else expect(got, `${cell.region} ${cell.metric}`).toBe(want);
    }
  });

  it('gives the same segmentation as `mednext predict` with thresholds and minimum sizes', async () => {
    const fromPage = await runPage(TUNED);
    const fromCli = await runCli(join(work, 'cli-tuned'), TUNED);
    expectSameSegmentation(fromPage, fromCli);
  }, 180_000);

  it('gives the same segmentation as `mednext predict` for a weighted ensemble of checkpoints', async () => {
    // Two members: the demo model and a copy under another name (an ensemble of identical members still
    // goes through loading, per-member sliding windows and the weighted average).
    const copy = join(work, 'member-b.safetensors');
    copyFileSync(DEMO_MODEL, copy);
    const options = { models: [DEMO_MODEL, copy], weights: '1,3' };
    const fromPage = await runPage(options);
    expect(await page.textContent('#model-status')).toMatch(
      /^ensemble of 2: model\.safetensors, member-b\.safetensors\. Task ssa; model\.safetensors: window \d+x\d+x\d+; member-b\.safetensors: window /,
    );
    const fromCli = await runCli(join(work, 'cli-ensemble'), options);
    expectSameSegmentation(fromPage, fromCli);
  }, 180_000);

  it('asks for the task of a PyTorch checkpoint, and names a damaged one', async () => {
    const pth = join(work, 'weights.pth');
    writeFileSync(pth, Buffer.from('PK\x03\x04 not a real checkpoint', 'latin1'));
    await giveCase();
    await page.evaluate(() => (document.querySelector('details')!.open = true));
    await page.fill('#weights', '');
    await page.setInputFiles('#models', [pth]);
    await page.selectOption('#task', '');
    await page.click('#run');
    await page.waitForFunction(() => document.body.dataset.state === 'error');
    expect(await page.textContent('#run-status')).toBe(
      "weights.pth is a PyTorch checkpoint, which records no task; choose the task (ssa-paper or ped-paper for the seed paper's released models)",
    );
    await page.selectOption('#task', 'ssa-paper');
    await page.click('#run');
    await page.waitForFunction(() => document.body.dataset.state === 'error');
    expect(await page.textContent('#run-status')).toMatch(/^weights\.pth: not a ZIP archive/);
    await page.setInputFiles('#models', []);
    await page.selectOption('#task', '');
  });

  it('cancels a running case and runs the next one', async () => {
    await page.fill('#weights', '');
    await page.check('#tta');
    await page.click('#run');
    await page.waitForFunction(
      () =>
        document.body.dataset.state !== 'running' ||
        /segmenting|windows/.test(document.querySelector('#run-status')?.textContent ?? ''),
    );
    expect(await page.textContent('#run-status'), 'still running when cancelled').toMatch(/segmenting|windows/);
    await page.click('#cancel');
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('cancelled');
    expect(await page.textContent('#run-status')).toBe('cancelled');
    await page.uncheck('#tta');
    const again = await runPage({});
    expectSameSegmentation(again, readFileSync(join(work, 'cli-default', `${CASE_ID}.nii.gz`)));
  }, 180_000);

  it('offers the probability maps `mednext predict --save-probabilities uint8` writes', async () => {
    await page.selectOption('#probabilities', 'uint8');
    await runPage({});
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-probabilities')]);
    expect(download.suggestedFilename()).toBe(`${CASE_ID}_probabilities.nii.gz`);
    const file = join(work, 'page-probabilities.nii.gz');
    await download.saveAs(file);
    const out = join(work, 'cli-probabilities');
    await mednext(
      'predict',
      caseDir,
      '-m',
      DEMO_MODEL,
      '--out',
      out,
      '--backend',
      'wasm',
      '--threads',
      '2',
      '-q',
      '--save-probabilities',
      'uint8',
    );
    const fromPage = gunzipSync(readFileSync(file));
    const fromCli = gunzipSync(readFileSync(join(out, `${CASE_ID}_probabilities.nii.gz`)));
    const image = decodeNiftiSync(new Uint8Array(fromPage));
    expect(image.shape).toEqual([40, 48, 32, 3]);
    expect(Buffer.compare(fromPage, fromCli), 'un-gzipped probability NIfTI bytes').toBe(0);
    await page.selectOption('#probabilities', 'none');
  }, 180_000);

  it("segments with the seed paper's Lightning checkpoint and task ssa-paper exactly as `mednext predict` does", async () => {
    const status = await giveCase(readdirSync(SEED_CASE).map((f) => join(SEED_CASE, f)));
    expect(status).toContain(`case ${SEED_CASE_ID}: 4 modalities`);
    const options = { models: [SEED_CKPT], task: 'ssa-paper', caseDir: SEED_CASE, caseId: SEED_CASE_ID };
    const fromPage = await runPage(options);
    // What was inferred from the tensors, and the task's window (the checkpoint records none).
    expect(await page.textContent('#model-status')).toBe(
      'model: model-b3.ckpt. Task ssa-paper; model-b3.ckpt: MedNeXt (non-standard) k3 (width 2, 4 in, 3 out, ' +
        'deep supervision; blocks 2,2,2,2,2,2,2,2,2; exp_r 2,3,4,4,4,4,4,3,2), window 128x128x128',
    );
    expect(await page.textContent('#summary')).toContain(`${SEED_CASE_ID} (task ssa-paper)`);
    const fromCli = await runCli(join(work, 'cli-seed-paper'), options);
    expectSameSegmentation(fromPage, fromCli);
    // The same checkpoint re-zipped with every entry deflated: read through the page's inflater, same result.
    const deflated = join(work, 'model-b3-deflated.ckpt');
    writeFileSync(deflated, deflateZipEntries(readFileSync(SEED_CKPT)));
    expectSameSegmentation(await runPage({ ...options, models: [deflated] }), fromCli);
    await page.setInputFiles('#models', []);
    await giveCase();
  }, 180_000);

  it('made no request outside the page origin, and no page error', () => {
    expect(requests.length, 'requests seen (the listener works)').toBeGreaterThan(3);
    expect(
      requests.some((u) => u.endsWith('.wasm')),
      'the wasm binaries came from the page origin',
    ).toBe(true);
    expect(outside).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
