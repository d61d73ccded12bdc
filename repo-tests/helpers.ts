/**
 * Shared plumbing of the repository tests: running commands, packing workspaces, temporary folders.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

const execFileAsync = promisify(execFile);

/** Runs a command to completion; rejects with its output when it fails. */
export async function sh(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** Creates `<os temp>/<prefix>XXXXXX` now and removes it after the calling file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One packed workspace, as `npm pack --json` describes it. */
export interface PackedPackage {
  name: string;
  version: string;
  filename: string;
  files: { path: string; size: number }[];
}

/**
 * Packs workspaces (by package name) into `destination` with `npm pack`, as a publish would; `dryRun` lists the
 * files without writing tarballs.
 */
export async function npmPack(names: string[], destination: string, dryRun = false): Promise<PackedPackage[]> {
  const args = ['pack', '--json', '--pack-destination', destination, ...names.flatMap((n) => ['-w', n])];
  if (dryRun) args.push('--dry-run');
  const { stdout } = await sh('npm', args);
  return JSON.parse(stdout) as PackedPackage[];
}
