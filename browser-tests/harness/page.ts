/**
 * Test-side handle on the page: launches Chromium, opens the bundled page, and calls `window.mednextTests`.
 */
import { inject } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_ARGS } from './chromium.js';
import type { MednextTestPage } from '../page/protocol.js';

type Api = MednextTestPage;
type Args<K extends keyof Api> = Parameters<Api[K]>;
type Result<K extends keyof Api> = Awaited<ReturnType<Api[K]>>;

/** An open test page. */
export interface TestPage {
  /** Runs `window.mednextTests[name](...args)` in the page and returns its (JSON-serialisable) result. */
  call<K extends keyof Api>(name: K, ...args: Args<K>): Promise<Result<K>>;
  /** Uncaught page errors and console errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

/** Why the browser tests skip here, or null when they can run. */
export function skipReason(): string | null {
  return inject('skipReason');
}

/** Launches Chromium on the page served by the global setup and waits until the page's API is there. */
export async function openTestPage(): Promise<TestPage> {
  const url = inject('pageUrl');
  const executablePath = inject('chromiumPath');
  if (!url || !executablePath) throw new Error(`browser tests: no page to open (${inject('skipReason')})`);
  const { chromium } = await import('playwright-core');
  const browser: Browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  const errors: string[] = [];
  try {
    const page: Page = await browser.newPage();
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    await page.goto(url);
    await page.waitForFunction(() => 'mednextTests' in globalThis, undefined, { timeout: 30_000 });
    return {
      errors,
      call: (name, ...args) =>
        page.evaluate(
          ([n, a]) =>
            (globalThis as unknown as { mednextTests: Record<string, (...x: unknown[]) => unknown> }).mednextTests[n]!(
              ...a,
            ),
          [name, args] as [string, unknown[]],
        ) as Promise<never>,
      close: () => browser.close(),
    };
  } catch (error) {
    await browser.close();
    const detail = errors.length ? ` (page said: ${errors.join(' | ')})` : '';
    throw new Error(`browser tests: could not open ${url}: ${(error as Error).message}${detail}`);
  }
}
