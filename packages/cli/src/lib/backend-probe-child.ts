/**
 * Child process of {@link probeBackendIsolated}: sets up one backend and prints one JSON line on stdout,
 * `{ available, attempts }`. Whatever native libraries print goes to stderr, which the parent reads.
 */
import { selectBackend, type BackendAttempt, type BackendName } from '@mednext-ts/tensor3d';

const backend = process.argv[2] as BackendName;
let report: { available: boolean; attempts: BackendAttempt[] };
try {
  report = { available: true, attempts: (await selectBackend(backend)).attempts };
} catch (error) {
  report = { available: false, attempts: (error as { attempts?: BackendAttempt[] }).attempts ?? [] };
}
process.stdout.write(JSON.stringify(report) + '\n');
// Native backends may keep the event loop alive (device threads); the answer is written.
process.exit(0);
