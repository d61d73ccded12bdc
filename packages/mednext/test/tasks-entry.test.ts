/**
 * The task API (`@mednext-ts/mednext/tasks`) loads without tfjs: a plugin author calling
 * `defineTask` needs none of the tensor code.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL('..', import.meta.url));

/** Every module the built entry reaches through static imports and re-exports (relative ones followed). */
function importGraph(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(
      /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(?\s*['"]([^'"]+)['"]/g,
    )) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files: [...files], packages: [...packages] };
}

/** Whether importing `specifier` in a fresh Node process brings up the tfjs engine (tfjs-core sets `globalThis._tfengine` when it loads). */
async function loadsTfjs(specifier: string): Promise<boolean> {
  const script = `await import(${JSON.stringify(specifier)}); process.stdout.write(String(globalThis._tfengine !== undefined));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: PACKAGE });
  return stdout === 'true';
}

describe('@mednext-ts/mednext/tasks', () => {
  it('imports no package at all (so no tfjs), only its own modules', () => {
    const graph = importGraph(path.join(PACKAGE, 'dist', 'tasks', 'index.js'));
    expect(graph.files.length).toBeGreaterThan(5);
    expect(graph.packages).toEqual([]);
  });

  it('does not load tfjs in a fresh process, while the package root does', async () => {
    expect(await loadsTfjs('@mednext-ts/mednext/tasks')).toBe(false);
    expect(await loadsTfjs('@mednext-ts/mednext')).toBe(true);
  }, 60_000);
});
