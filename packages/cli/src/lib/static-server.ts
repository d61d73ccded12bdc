/**
 * A static file server for the web app, with the headers that make the page cross-origin isolated:
 * WebAssembly threads need SharedArrayBuffer, which browsers only give isolated pages.
 */
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** Headers that make the page cross-origin isolated (`crossOriginIsolated === true`). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** A running server. */
export interface RunningServer {
  /** e.g. `http://127.0.0.1:8080` (no trailing slash). */
  origin: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Maps a URL path to a file inside `root` (`/` → `index.html`); null for anything that would leave it.
 */
export function fileForPath(root: string, urlPath: string): string | null {
  let rest: string;
  try {
    rest = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (rest.includes('\0')) return null;
  if (rest.endsWith('/')) rest += 'index.html';
  const base = path.resolve(root);
  const file = path.resolve(base, `.${rest.startsWith('/') ? rest : `/${rest}`}`);
  return file.startsWith(base + path.sep) ? file : null;
}

/** Serves `root` on `host:port` (port 0: a free one) until closed. Only GET and HEAD are answered. */
export async function serveStatic(root: string, options: { port: number; host: string }): Promise<RunningServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { ...ISOLATION_HEADERS, Allow: 'GET, HEAD' });
        res.end();
        return;
      }
      const urlPath = new URL(req.url ?? '/', 'http://localhost').pathname;
      const file = fileForPath(root, urlPath);
      try {
        if (!file || !(await stat(file)).isFile()) throw new Error('not found');
        const body = await readFile(file);
        res.writeHead(200, {
          ...ISOLATION_HEADERS,
          'Content-Type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
          'Content-Length': body.length,
          // Hashed asset names change with their content; the page itself is always revalidated.
          'Cache-Control': urlPath.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      } catch {
        res.writeHead(404, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`not found: ${urlPath}\n`);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('serve: the server has no TCP address');
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    origin: `http://${shownHost}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
