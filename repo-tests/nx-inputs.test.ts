/**
 * nx must not serve a stale build: a change in a dependency's sources has to invalidate the build of every
 * package that depends on it. The test runs the repository's own nx.json in a temporary two-package workspace
 * (b depends on a; b's build output copies what a's build produced), builds twice around a change in a, and
 * checks that b's output follows the change instead of coming back from the cache.
 */
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, sh, tempDir } from './helpers.js';

const COPY_BUILD = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const from = process.argv[2];
mkdirSync('dist', { recursive: true });
writeFileSync('dist/value.txt', readFileSync(from, 'utf8'));
`;

async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, JSON.stringify(value, null, 2));
}

describe("nx build inputs include the dependencies' sources", () => {
  it('rebuilds a dependent package after its dependency changed, instead of restoring it from the cache', async () => {
    const root = tempDir('mednext-nx-');
    await copyFile(path.join(REPO_ROOT, 'nx.json'), path.join(root, 'nx.json'));
    await writeFile(path.join(root, 'tsconfig.base.json'), '{}');
    await writeJson(path.join(root, 'package.json'), { name: 'ws', private: true, workspaces: ['packages/*'] });
    await mkdir(path.join(root, 'node_modules'));
    await symlink(path.join(REPO_ROOT, 'node_modules', 'nx'), path.join(root, 'node_modules', 'nx'));
    // a: dist/value.txt is a copy of src/value.txt. b: dist/value.txt is a copy of a's dist/value.txt.
    for (const [name, from, deps] of [
      ['a', 'src/value.txt', {}],
      ['b', '../a/dist/value.txt', { a: '*' }],
    ] as const) {
      const dir = path.join(root, 'packages', name);
      await mkdir(path.join(dir, 'src'), { recursive: true });
      await writeFile(path.join(dir, 'build.mjs'), COPY_BUILD);
      await writeFile(path.join(dir, 'src', 'index.txt'), `package ${name}\n`);
      await writeJson(path.join(dir, 'package.json'), {
        name,
        version: '1.0.0',
        scripts: { build: `node build.mjs ${from}` },
        dependencies: deps,
      });
    }
    const nx = path.join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
    const env = { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'false', CI: 'true' };
    const buildAll = () =>
      sh(process.execPath, [nx, 'run-many', '-t', 'build', '--outputStyle=static'], { cwd: root, env });
    const bValue = () => readFile(path.join(root, 'packages', 'b', 'dist', 'value.txt'), 'utf8');

    await writeFile(path.join(root, 'packages', 'a', 'src', 'value.txt'), 'first');
    await buildAll();
    expect(await bValue()).toBe('first');
    // A second run with nothing changed is served from the cache (so the cache is really in play).
    const cached = await buildAll();
    expect(cached.stdout).toMatch(/b:build.*\[local cache\]|Nx read the output from the cache/s);

    await writeFile(path.join(root, 'packages', 'a', 'src', 'value.txt'), 'second');
    const after = await buildAll();
    expect(await bValue()).toBe('second');
    expect(after.stdout).not.toMatch(/b:build\s+\[local cache\]/);
  });
});
