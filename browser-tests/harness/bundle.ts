/**
 * Bundles the test page (page/index.html → entry.ts and its worker) with Vite into `.build/dist/`.
 *
 * The page imports @mednext-ts/io-nifti, /tensor3d and /mednext by package name, so Vite resolves them
 * through the workspace links to their `dist/` (run `npx tsc -b` first). The output sits under a `dist/`
 * folder so the repository's lint and format ignores (`**\/dist/**`, `dist/`) skip the generated bundle.
 *
 * A rebuild is skipped when the bundle is newer than every input (page sources and the three packages'
 * dist), which keeps repeated runs fast.
 */
import { readdir, stat, writeFile, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** browser-tests/ */
export const TESTS_ROOT = resolve(HERE, '..');
export const REPO_ROOT = resolve(TESTS_ROOT, '..');
export const PAGE_DIR = join(TESTS_ROOT, 'page');
export const BUILD_DIR = join(TESTS_ROOT, '.build', 'dist');
/** Inside the output folder, so the lint/format ignores cover it too (written after Vite empties it). */
const STAMP = join(BUILD_DIR, 'stamp.json');

/** Packages bundled into the page, by folder. */
const BUNDLED_PACKAGES = ['io-nifti', 'tensor3d', 'mednext'];

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => null);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestMtime(join(path, entry)));
  return newest;
}

async function inputsMtime(): Promise<number> {
  const paths = [
    PAGE_DIR,
    join(HERE, 'bundle.ts'),
    ...BUNDLED_PACKAGES.map((p) => join(REPO_ROOT, 'packages', p, 'dist')),
  ];
  const times = await Promise.all(paths.map(newestMtime));
  return Math.max(...times);
}

/** Result of {@link bundlePage}. */
export interface BundleResult {
  outDir: string;
  /** Whether Vite ran (false: the previous bundle was up to date). */
  rebuilt: boolean;
  ms: number;
}

/**
 * Builds the page unless the existing bundle is up to date.
 * @throws when a bundled package has no dist/ (the message says to run `npx tsc -b`)
 */
export async function bundlePage(options: { force?: boolean } = {}): Promise<BundleResult> {
  const start = performance.now();
  for (const p of BUNDLED_PACKAGES) {
    const entry = join(REPO_ROOT, 'packages', p, 'dist', 'index.js');
    if (!(await stat(entry).catch(() => null))) {
      throw new Error(`browser tests: ${entry} is missing; run \`npx tsc -b\` in the repository root first`);
    }
  }
  const inputs = await inputsMtime();
  if (!options.force) {
    const stamp = JSON.parse(await readFile(STAMP, 'utf8').catch(() => '{}')) as { inputs?: number };
    const index = await stat(join(BUILD_DIR, 'index.html')).catch(() => null);
    if (index && stamp.inputs === inputs) return { outDir: BUILD_DIR, rebuilt: false, ms: performance.now() - start };
  }
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: PAGE_DIR,
    base: './',
    logLevel: 'warn',
    build: {
      outDir: BUILD_DIR,
      emptyOutDir: true,
      target: 'esnext',
      // Unminified: faster to build and readable stack traces when a check fails in the page.
      minify: false,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 1 << 20,
      // tfjs makes the build plugin-heavy; the timing advice printed about it is noise in a test run.
      rolldownOptions: { checks: { pluginTimings: false } },
    },
    worker: { format: 'es' },
  });
  await writeFile(STAMP, JSON.stringify({ inputs }));
  return { outDir: BUILD_DIR, rebuilt: true, ms: performance.now() - start };
}
