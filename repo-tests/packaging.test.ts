/**
 * What `npm publish` would ship, per workspace package: the licence, no build state, source maps that resolve
 * inside the tarball, tfjs as a peer (one tfjs-core per application), and only the dependencies the code uses.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, npmPack, tempDir, type PackedPackage } from './helpers.js';

interface Manifest {
  name: string;
  license?: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const rootManifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;
const workspaces = rootManifest.workspaces!;
const manifests = new Map<string, { dir: string; manifest: Manifest }>();
for (const dir of workspaces) {
  const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, dir, 'package.json'), 'utf8')) as Manifest;
  manifests.set(manifest.name, { dir, manifest });
}
/** Applications bring their own tfjs; libraries leave the choice of version to them. */
const APPLICATIONS = new Set(['@mednext-ts/cli', '@mednext-ts/web']);
/** Applications shipped as a browser bundle: no source maps (the bundle is not debugged from the tarball). */
const BUNDLED = new Set(['@mednext-ts/web']);

/** Every bare module specifier imported (statically or dynamically) by the .ts files under `dir`. */
async function importedPackages(dir: string): Promise<Set<string>> {
  const found = new Set<string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = await readFile(path.join(entry.parentPath, entry.name), 'utf8');
    // import statements, dynamic imports, and `/// <reference types="..." />` (kept in the published .d.ts files)
    const specifiers = /(?:from\s+|import\s*\(\s*|import\s+|\/\/\/\s*<reference\s+types=)['"]([^'"./][^'"]*)['"]/g;
    for (const m of text.matchAll(specifiers)) {
      const spec = m[1]!;
      const parts = spec.split('/');
      found.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return found;
}

describe('published tarballs', () => {
  const tmp = tempDir('mednext-pack-');
  let packed: PackedPackage[] = [];
  const licence = readFile(path.join(REPO_ROOT, 'LICENSE'), 'utf8');

  beforeAll(async () => {
    packed = await npmPack([...manifests.keys()], tmp, true);
  });

  it('the repository has the Apache-2.0 licence its packages declare', async () => {
    expect(await licence).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    for (const { manifest } of manifests.values()) expect(manifest.license, manifest.name).toBe('Apache-2.0');
  });

  it('every tarball ships the licence and no TypeScript build state', async () => {
    expect(packed.map((p) => p.name).sort()).toEqual([...manifests.keys()].sort());
    for (const pkg of packed) {
      const files = pkg.files.map((f) => f.path);
      expect(files, pkg.name).toContain('LICENSE');
      const { dir } = manifests.get(pkg.name)!;
      expect(await readFile(path.join(REPO_ROOT, dir, 'LICENSE'), 'utf8'), `${pkg.name} LICENSE`).toBe(await licence);
      expect(
        files.filter((f) => f.endsWith('.tsbuildinfo')),
        pkg.name,
      ).toEqual([]);
    }
  });

  it("every source map's sources are in the same tarball", async () => {
    for (const pkg of packed) {
      const files = new Set(pkg.files.map((f) => f.path));
      const maps = [...files].filter((f) => f.endsWith('.map'));
      if (BUNDLED.has(pkg.name)) expect(maps, `${pkg.name} ships no source maps`).toEqual([]);
      else expect(maps.length, `${pkg.name} has source maps`).toBeGreaterThan(0);
      const { dir } = manifests.get(pkg.name)!;
      for (const map of maps) {
        const { sources, sourceRoot } = JSON.parse(await readFile(path.join(REPO_ROOT, dir, map), 'utf8')) as {
          sources: string[];
          sourceRoot?: string;
        };
        for (const source of sources) {
          const shipped = path.posix.normalize(path.posix.join(path.posix.dirname(map), sourceRoot ?? '', source));
          expect(files.has(shipped), `${pkg.name}: ${map} points at ${shipped}`).toBe(true);
        }
      }
    }
  });

  it('tfjs is a peer dependency of every library (never a dependency of its own), optional where only a subpath needs it', () => {
    for (const [name, { manifest }] of manifests) {
      const tfjsDeps = Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith('@tensorflow/'));
      if (APPLICATIONS.has(name)) continue;
      expect(tfjsDeps, `${name} dependencies`).toEqual([]);
    }
    const peers = (name: string) => manifests.get(name)!.manifest;
    expect(peers('@mednext-ts/optim-schedulefree').peerDependencies).toHaveProperty('@tensorflow/tfjs-core');
    expect(peers('@mednext-ts/mednext').peerDependencies).toHaveProperty('@tensorflow/tfjs-core');
    const tensor3d = peers('@mednext-ts/tensor3d');
    for (const peer of Object.keys(tensor3d.peerDependencies ?? {}))
      expect(tensor3d.peerDependenciesMeta?.[peer]?.optional, `tensor3d peer ${peer}`).toBe(true);
  });

  it('every declared dependency is imported by the package, and every imported package is declared', async () => {
    for (const [name, { dir, manifest }] of manifests) {
      const imported = await importedPackages(path.join(REPO_ROOT, dir, 'src'));
      const declared = new Set([
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
      ]);
      for (const dep of Object.keys(manifest.dependencies ?? {})) {
        // The cli provides tfjs for the packages it runs, loads its plugins and @oclif/plugin-plugins by name, and
        // `mednext doctor` reads the optimiser package's version, and `mednext serve` resolves the web app's folder.
        if (APPLICATIONS.has(name) && (dep.startsWith('@tensorflow/') || dep.startsWith('@mednext-ts/plugin-')))
          continue;
        const resolvedByName = ['@mednext-ts/optim-schedulefree', '@mednext-ts/web'];
        if (dep === '@oclif/plugin-plugins' || (name === '@mednext-ts/cli' && resolvedByName.includes(dep))) continue;
        expect(imported.has(dep), `${name} declares ${dep} but never imports it`).toBe(true);
      }
      for (const dep of imported) {
        if (dep.startsWith('node:') || dep === name) continue;
        expect(declared.has(dep), `${name} imports ${dep} without declaring it`).toBe(true);
      }
    }
  });
});
