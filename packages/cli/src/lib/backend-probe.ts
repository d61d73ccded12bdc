/**
 * Probing a compute backend in a child process. The native backends (Dawn for WebGPU, libtensorflow) print their
 * own warnings straight to the process's stderr (e.g. Dawn's "Couldn't load Vulkan"), where they landed after
 * `mednext doctor`'s report; in a child, that output is captured and reported as notes of the backend it belongs
 * to.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendAttempt, BackendName, GpuAdapterDescription } from '@mednext-ts/tensor3d';

/** What a probe found. */
export interface BackendProbe {
  backend: BackendName;
  available: boolean;
  attempts: BackendAttempt[];
  /** Messages the backend's native library printed while it was set up (first line of each, deduplicated). */
  notes: string[];
  /** For `webgpu`: the adapter found (even when tfjs's WebGPU backend then failed), undefined when none. */
  adapter?: GpuAdapterDescription;
}

const CHILD = fileURLToPath(new URL('./backend-probe-child.js', import.meta.url));

/** The first line of every `Warning:`/`Error:` message in native stderr output, without the prefix, once each. */
export function nativeNotes(stderr: string): string[] {
  const notes = new Set<string>();
  for (const line of stderr.split('\n')) {
    const m = /^\s*(?:Warning|Error|W\d{4}|E\d{4})[:\s]\s*(.+)$/.exec(line);
    if (m) notes.add(m[1]!.trim());
  }
  return [...notes];
}

/** Runs `selectBackend(backend)` in a child process and reports the outcome with the native messages. */
export function probeBackendIsolated(backend: BackendName, timeoutMs = 60_000): Promise<BackendProbe> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CHILD, backend],
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 22 },
      (error, stdout, stderr) => {
        const notes = nativeNotes(stderr);
        const line = stdout.trim().split('\n').pop() ?? '';
        try {
          const result = JSON.parse(line) as Omit<BackendProbe, 'backend' | 'notes'>;
          resolve({ backend, ...result, notes });
        } catch {
          // The child died before reporting (a native crash, a timeout): that is the answer.
          const why = error ? (error.killed ? `timed out after ${timeoutMs / 1000} s` : error.message) : 'no report';
          resolve({
            backend,
            available: false,
            attempts: [{ backend, variant: backend, ok: false, detail: `the probe process failed: ${why}` }],
            notes,
          });
        }
      },
    );
  });
}
