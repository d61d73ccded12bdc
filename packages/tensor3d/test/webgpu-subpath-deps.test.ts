/**
 * `@mednext-ts/tensor3d/webgpu` is what the optimizer package's GPU entry and the GPU losses build on, and the
 * optimizer must not pull tfjs in through it: no module reachable from the subpath's entry imports tfjs
 * statically. (Lazy `import()` calls are allowed: compute/optional-import.ts names two tfjs backends in
 * thunks that the WebGPU code never calls.)
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Specifiers of the static `import ... from` / `export ... from` / `import '...'` statements of a module. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gms)) out.push(m[1]);
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) out.push(m[1]);
  return out;
}

/** Every module reachable from `entry` through static relative imports, with the bare specifiers they name. */
function importGraph(entry: string): { modules: string[]; packages: Set<string> } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  }
  return { modules: [...seen], packages };
}

describe('the webgpu subpath', () => {
  it('imports no tfjs package statically, anywhere in its module graph', () => {
    const { modules, packages } = importGraph(resolve(SRC, 'webgpu/index.ts'));
    // The walk did reach the kernels and the device code (so the check is not vacuous).
    expect(modules.some((m) => m.endsWith('kernels/depthwise-conv3d-backward.ts'))).toBe(true);
    expect(modules.some((m) => m.endsWith('compute/webgpu-adapter.ts'))).toBe(true);
    expect([...packages].filter((p) => p.startsWith('@tensorflow/'))).toEqual([]);
  });

  it('would notice a static tfjs import (the parser sees the forms used in this package)', () => {
    const { packages } = importGraph(resolve(SRC, 'compute/gradients.ts'));
    expect([...packages]).toContain('@tensorflow/tfjs');
  });
});
