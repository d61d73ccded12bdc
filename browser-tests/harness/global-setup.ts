/**
 * Vitest global setup of the browser tests: find Chromium, bundle the page, start the COOP/COEP server,
 * and hand the tests (through `inject`) the page URL or the reason to skip.
 */
import type { TestProject } from 'vitest/node';
import { join } from 'node:path';
import { BUILD_DIR, REPO_ROOT, TESTS_ROOT, bundlePage } from './bundle.js';
import { findChromium } from './chromium.js';
import { startStaticServer } from './server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Page URL (`…/index.html`), or null when the tests skip. */
    pageUrl: string | null;
    chromiumPath: string | null;
    /** Why every browser test skips (null when they run). */
    skipReason: string | null;
  }
}

/** Why the tests cannot drive a browser here, or null. */
async function missingPrerequisite(): Promise<{ reason: string } | { chromiumPath: string }> {
  const chromium = findChromium();
  if (chromium.path === null) return { reason: chromium.skip };
  try {
    await import('playwright-core');
  } catch (error) {
    return {
      reason: `playwright-core cannot be loaded (${(error as Error).message.split('\n')[0]}); browser tests skipped`,
    };
  }
  return { chromiumPath: chromium.path };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const found = await missingPrerequisite();
  if ('reason' in found) {
    console.warn(`browser tests: ${found.reason}`);
    project.provide('pageUrl', null);
    project.provide('chromiumPath', null);
    project.provide('skipReason', found.reason);
    return async () => {};
  }
  const bundle = await bundlePage();
  console.log(`browser tests: page bundle ${bundle.rebuilt ? 'built' : 'up to date'} in ${bundle.ms.toFixed(0)} ms`);
  const server = await startStaticServer({
    '/': BUILD_DIR,
    '/fixtures/': join(TESTS_ROOT, 'fixtures'),
    '/tfjs-wasm/': join(REPO_ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist'),
  });
  project.provide('pageUrl', `${server.origin}/index.html`);
  project.provide('chromiumPath', found.chromiumPath);
  project.provide('skipReason', null);
  return () => server.close();
}
