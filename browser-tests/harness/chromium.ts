/**
 * Finding and launching the Chromium the browser tests drive (through playwright-core, which downloads no
 * browser). The launch flags are the verified recipe of shared/research/browser-probe.md.
 */
import { existsSync } from 'node:fs';

/** Default executable: Debian's `chromium` package. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Where Chromium is, or why the browser tests must skip. */
export type ChromiumLocation = { path: string; skip: null } | { path: null; skip: string };

/** Resolves the executable from `MEDNEXT_CHROMIUM`, else {@link DEFAULT_CHROMIUM}. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): ChromiumLocation {
  const fromEnv = env.MEDNEXT_CHROMIUM?.trim();
  const path = fromEnv || DEFAULT_CHROMIUM;
  if (existsSync(path)) return { path, skip: null };
  const where = fromEnv ? `MEDNEXT_CHROMIUM=${fromEnv}` : `${DEFAULT_CHROMIUM} (set MEDNEXT_CHROMIUM to another path)`;
  return { path: null, skip: `Chromium not found at ${where}; browser tests skipped` };
}

/**
 * Chromium flags. `--enable-unsafe-webgpu` is the one that matters: without it `requestAdapter()` returns
 * null. `--enable-unsafe-swiftshader` lets WebGPU fall back to the CPU (SwiftShader) on machines without a
 * GPU; Playwright passes it too, repeating it keeps the recipe independent of Playwright's defaults.
 */
export const CHROMIUM_ARGS = [
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
];
