/**
 * Shared plumbing of the command tests: they run the built `mednext` binary (run `npx tsc -b` first) as a
 * user would, each file in a temporary folder of its own.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';

/** The built binary. */
export const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url));

const run = promisify(execFile);

/** What a finished command printed. */
export interface CliOutput {
  stdout: string;
  stderr: string;
}

/**
 * Runs `mednext <args>` with `env` added to this process's environment, in `cwd` (default: this process's).
 * Rejects when the command fails; the error carries `code`, `stdout` and `stderr`.
 */
export function mednext(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliOutput> {
  return run(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd,
    env: { ...process.env, ...env },
    maxBuffer: 1 << 24,
  });
}

/** Runs `mednext <args>` and resolves with its exit code and output, whether it succeeds or fails. */
export async function mednextExit(...args: string[]): Promise<CliOutput & { code: number }> {
  try {
    return { code: 0, ...(await mednext(args)) };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Creates `<os temp>/<prefix>XXXXXX` now and removes it after the calling test file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
