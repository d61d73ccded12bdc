/**
 * Benchmark (not a test; runs only with MEDNEXT_BROWSER_BENCH=1): the web app served by `mednext serve` in
 * headless Chromium. Bytes of JavaScript and WebAssembly the first (cold) load fetches before any model is
 * chosen, then the built-in phantom from page load to the label overlay on screen (click, demo model,
 * inference, viewer), and the bytes fetched by then.
 */
import type { Response } from 'playwright-core';
import { loadavg } from 'node:os';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHROMIUM_ARGS } from '../harness/chromium.js';
import { skipReason } from '../harness/page.js';
import { buildWebApp, serveWebApp, type ServedApp } from '../harness/web-app.js';

const RUNS = 3;
const skip = skipReason();

describe.skipIf(skip !== null)('web app: cold load and phantom to overlay', () => {
  let app: ServedApp;
  beforeAll(async () => {
    await buildWebApp();
    app = await serveWebApp();
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  it(`measures ${RUNS} cold loads`, async () => {
    const { chromium } = await import('playwright-core');
    const lines: string[] = [];
    for (let r = 0; r < RUNS; r++) {
      const browser = await chromium.launch({
        executablePath: inject('chromiumPath')!,
        headless: true,
        args: CHROMIUM_ARGS,
      });
      try {
        // A fresh context has an empty cache: every byte is fetched.
        const page = await (await browser.newContext()).newPage();
        const fetched: { url: string; bytes: number; at: 'load' | 'run' }[] = [];
        let phase: 'load' | 'run' = 'load';
        const sizes: Promise<void>[] = [];
        page.on('response', (response: Response) => {
          const at = phase;
          sizes.push(
            response.body().then(
              (body) => void fetched.push({ url: response.url(), bytes: body.length, at }),
              () => undefined,
            ),
          );
        });
        await page.goto(`${app.origin}/`, { waitUntil: 'networkidle' });
        await Promise.all(sizes);
        phase = 'run';
        const loadMs = await page.evaluate(
          () => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd,
        );
        const clickMs = await page.evaluate(() => performance.now());
        await page.click('#phantom');
        await page.waitForFunction(() => !(document.querySelector('#run') as HTMLButtonElement).disabled);
        await page.click('#run');
        await page.waitForFunction(
          () => document.body.dataset.viewer === 'ready' || document.body.dataset.state === 'error',
          undefined,
          {
            timeout: 120_000,
          },
        );
        expect(await page.evaluate(() => document.body.dataset.state)).toBe('done');
        // The user-visible wait: page load, then from the first click to the overlay (the benchmark's own
        // wait for the network to be idle in between is left out).
        const marks = await page.evaluate(() =>
          Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])),
        );
        const overlayMs = marks['mednext:overlay']!;
        const toOverlay = loadMs + (overlayMs - clickMs);
        const parts =
          `load ${(loadMs / 1000).toFixed(2)} s, phantom built + model fetched ${((marks['mednext:run-start']! - clickMs) / 1000).toFixed(2)} s, ` +
          `worker run ${((marks['mednext:result']! - marks['mednext:run-start']!) / 1000).toFixed(2)} s, ` +
          `viewer ${((overlayMs - marks['mednext:result']!) / 1000).toFixed(2)} s`;
        await Promise.all(sizes);
        const code = (f: { url: string }) => /\.(js|mjs|wasm)$/.test(new URL(f.url).pathname);
        const kb = (list: typeof fetched) => (list.reduce((s, f) => s + f.bytes, 0) / 1024).toFixed(0);
        const cold = fetched.filter((f) => f.at === 'load');
        lines.push(
          `run ${r + 1}: cold load ${kb(cold.filter(code))} KiB JS+wasm (${kb(cold)} KiB in all, ${cold.length} requests); ` +
            `page load to overlay ${(toOverlay / 1000).toFixed(2)} s (${parts}); ` +
            `by then ${kb(fetched.filter(code))} KiB JS+wasm, ${kb(fetched)} KiB in all (model included)`,
        );
      } finally {
        await browser.close();
      }
    }
    console.log(`web app (load average ${loadavg()[0]!.toFixed(1)}):\n${lines.join('\n')}`);
  }, 600_000);
});
