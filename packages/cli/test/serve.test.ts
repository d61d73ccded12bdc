import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileForPath, serveStatic, type RunningServer } from '../src/lib/static-server.js';
import { BIN, mednextExit, tempDir } from './cli-helpers.js';

const root = tempDir('cli-serve-');
const site = path.join(root, 'site');
beforeAll(() => {
  mkdirSync(path.join(site, 'assets'), { recursive: true });
  writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(path.join(site, 'assets', 'k.wasm'), new Uint8Array([0, 97, 115, 109]));
  writeFileSync(path.join(root, 'secret.txt'), 'outside the served folder');
});

describe('fileForPath', () => {
  it('maps URL paths into the folder and refuses anything that leaves it', () => {
    expect(fileForPath(site, '/')).toBe(path.join(site, 'index.html'));
    expect(fileForPath(site, '/assets/k.wasm')).toBe(path.join(site, 'assets', 'k.wasm'));
    expect(fileForPath(site, '/../secret.txt')).toBeNull();
    expect(fileForPath(site, '/%2e%2e/secret.txt')).toBeNull();
    expect(fileForPath(site, '/assets/%00x')).toBeNull();
    expect(fileForPath(site, '/%E0%A4%A')).toBeNull();
  });
});

describe('serveStatic', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serveStatic(site, { port: 0, host: '127.0.0.1' });
  });
  afterAll(() => server.close());

  it('serves files with the cross-origin isolation headers and the right content types', async () => {
    const page = await fetch(`${server.origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<title>t</title>');
    const wasm = await fetch(`${server.origin}/assets/k.wasm`);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await wasm.arrayBuffer())).toEqual(new Uint8Array([0, 97, 115, 109]));
  });

  it('answers 404 for missing files and paths outside the folder, 405 for other methods', async () => {
    expect((await fetch(`${server.origin}/nope.js`)).status).toBe(404);
    const escape = await fetch(`${server.origin}/%2e%2e/secret.txt`);
    expect(escape.status).toBe(404);
    expect(await escape.text()).not.toContain('outside');
    expect((await fetch(`${server.origin}/`, { method: 'POST', body: 'x' })).status).toBe(405);
  });
});

describe('mednext serve', () => {
  it('serves a folder on the port it prints and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--dir', site], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const origin = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const res = await fetch(`${origin}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('says how to build the app when the folder has none', async () => {
    const r = await mednextExit('serve', '--port', '0', '--dir', root);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/holds no built web app.*npm run build -w @mednext-ts\/web/s);
  });
});
