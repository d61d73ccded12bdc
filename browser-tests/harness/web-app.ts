/**
 * The web app (packages/web) for its end-to-end test: built with its own Vite config when its bundle is
 * older than its sources or the packages it bundles, then served by `mednext serve`, the command users
 * run, so the test covers the server and its cross-origin isolation headers too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './bundle.js';

export const WEB_DIR = join(REPO_ROOT, 'packages', 'web');
export const WEB_DIST = join(WEB_DIR, 'dist');
/** The built `mednext` binary. */
export const MEDNEXT_BIN = join(REPO_ROOT, 'packages', 'cli', 'bin', 'run.js');

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => null);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestMtime(join(path, entry)));
  return newest;
}

/** Builds the web app unless `dist/index.html` is newer than everything it is made from. */
export async function buildWebApp(): Promise<{ rebuilt: boolean; ms: number }> {
  const start = performance.now();
  const inputs = await Promise.all(
    [
      join(WEB_DIR, 'src'),
      join(WEB_DIR, 'index.html'),
      join(WEB_DIR, 'vite.config.ts'),
      ...['io-nifti', 'tensor3d', 'metrics', 'mednext'].map((p) => join(REPO_ROOT, 'packages', p, 'dist')),
      // The bundled task plugins (the page's task selector and the worker's registry).
      ...['ssa', 'ped'].map((p) => join(REPO_ROOT, 'plugins', p, 'dist')),
      join(REPO_ROOT, 'packages', 'mednext', 'models'),
    ].map(newestMtime),
  );
  const built = (await stat(join(WEB_DIST, 'index.html')).catch(() => null))?.mtimeMs ?? 0;
  if (built > Math.max(...inputs)) return { rebuilt: false, ms: performance.now() - start };
  const { build } = await import('vite');
  await build({ configFile: join(WEB_DIR, 'vite.config.ts'), logLevel: 'error' });
  return { rebuilt: true, ms: performance.now() - start };
}

/** A running `mednext serve`. */
export interface ServedApp {
  /** e.g. `http://127.0.0.1:43125` */
  origin: string;
  close(): Promise<void>;
}

/** Starts `mednext serve --port 0` and waits for the address it prints. */
export function serveWebApp(): Promise<ServedApp> {
  const child: ChildProcess = spawn(process.execPath, [MEDNEXT_BIN, 'serve', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`mednext serve printed no address within 30 s: ${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
      if (!found) return;
      clearTimeout(timer);
      resolve({
        origin: found[1]!,
        close: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mednext serve exited with ${code}: ${output}`));
    });
  });
}
