/**
 * Child process of {@link probeBackendIsolated}: sets up one backend and prints one JSON line on stdout,
 * `{ available, attempts, adapter? }` (`adapter`: the WebGPU adapter found, for `webgpu`). Whatever native libraries
 * print goes to stderr, which the parent reads.
 */
import {
  describeGpuAdapter,
  installWebGpu,
  selectBackend,
  type AdapterLike,
  type BackendAttempt,
  type BackendName,
  type GpuAdapterDescription,
} from '@mednext-ts/tensor3d';

/** The native API under Dawn's default (non-compatibility) adapter on each platform. */
const NATIVE_BACKEND: Record<string, string> = { linux: 'vulkan', darwin: 'metal', win32: 'd3d12' };

/** The WebGPU adapter the project would use, described, or undefined when there is none. */
async function webGpuAdapter(): Promise<GpuAdapterDescription | undefined> {
  const probe = await installWebGpu();
  if (!probe.ok) return undefined;
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<AdapterLike | null> } } }).navigator
    ?.gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) return undefined;
  const backend = probe.compatibilityMode ? 'opengles' : (NATIVE_BACKEND[process.platform] ?? 'native');
  return describeGpuAdapter(adapter, backend);
}

const backend = process.argv[2] as BackendName;
let report: { available: boolean; attempts: BackendAttempt[]; adapter?: GpuAdapterDescription };
try {
  report = { available: true, attempts: (await selectBackend(backend)).attempts };
} catch (error) {
  report = { available: false, attempts: (error as { attempts?: BackendAttempt[] }).attempts ?? [] };
}
if (backend === 'webgpu') report.adapter = await webGpuAdapter().catch(() => undefined);
process.stdout.write(JSON.stringify(report) + '\n');
// Native backends may keep the event loop alive (device threads); the answer is written.
process.exit(0);
