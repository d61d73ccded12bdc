/**
 * A static file server for the test page, bound to 127.0.0.1 on a free port.
 *
 * Every response carries the COOP/COEP/CORP headers that make the page cross-origin isolated, because
 * SharedArrayBuffer (and therefore WebAssembly threads, ours and tfjs-wasm's) exists only in isolated pages.
 */
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

/** URL prefix → folder on disk. The longest matching prefix wins. */
export type Mounts = Record<string, string>;

/** A running server; `close()` stops it. */
export interface StaticServer {
  /** e.g. `http://127.0.0.1:41234` (no trailing slash). */
  origin: string;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.gz': 'application/octet-stream',
};

/** Headers that make the page cross-origin isolated (`crossOriginIsolated === true`). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

/** Maps a request path to a file under one of the mounts, refusing anything that escapes its folder. */
function resolvePath(mounts: Mounts, urlPath: string): string | null {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  for (const prefix of prefixes) {
    if (!urlPath.startsWith(prefix)) continue;
    const root = normalize(mounts[prefix]!);
    let rest = decodeURIComponent(urlPath.slice(prefix.length));
    if (rest === '' || rest.endsWith('/')) rest += 'index.html';
    const file = normalize(join(root, rest));
    return file === root || file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : null;
  }
  return null;
}

/** Starts the server on an ephemeral port of 127.0.0.1. */
export async function startStaticServer(mounts: Mounts): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const file = resolvePath(mounts, path);
      try {
        if (!file || !(await stat(file)).isFile()) throw new Error('not found');
        const body = await readFile(file);
        res.writeHead(200, {
          ...ISOLATION_HEADERS,
          'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
          'Cache-Control': 'no-store',
        });
        res.end(body);
      } catch {
        res.writeHead(404, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain' });
        res.end(`not found: ${path}`);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('static server: no TCP address');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
