/**
 * Selection of the tfjs backend that runs every tensor op of the project.
 *
 * `auto` prefers, in order: `@tensorflow/tfjs-node-gpu` with a visible CUDA device,
 * `@tensorflow/tfjs-node`, then the fastest CPU path that installs offline (WebAssembly SIMD),
 * then the plain JavaScript `cpu` backend. Every choice says which backend it picked and why.
 */
import { Tensor3dError } from '../errors.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import './gradients.js';
import { hasWasmSimd, isNode } from './environment.js';
import { defaultImporter, tryImport, type ModuleImporter } from './optional-import.js';
import { installWebGpu } from './webgpu-adapter.js';
import { enableFastKernels } from '../kernels/tfjs.js';

/** What a caller may ask for. */
export type BackendPreference = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** The concrete backends that `auto` chooses among. */
export type BackendName = Exclude<BackendPreference, 'auto'>;

/** One candidate that was tried, and what came of it. */
export interface BackendAttempt {
  backend: BackendName;
  /** Package or variant tried, e.g. `@tensorflow/tfjs-node-gpu`. */
  variant: string;
  ok: boolean;
  /** Why it was taken or skipped, one line. */
  detail: string;
}

/** The backend now active, and how it was chosen. */
export interface BackendChoice {
  backend: BackendName;
  /** Name registered in tfjs (`tf.getBackend()`). */
  tfjsName: string;
  /** One sentence: why this backend. */
  reason: string;
  /** Every candidate tried, in order. */
  attempts: BackendAttempt[];
  /** The project's WebAssembly SIMD kernels, when they serve this backend (cpu and wasm only). */
  fastKernels?: FastKernelsState;
}

/** What the project's WebAssembly SIMD kernels took over. */
export interface FastKernelsState {
  /** Worker threads the kernels run on (1 where shared memory or workers are missing). */
  threads: number;
  /** `kernel@backend` pairs now served by them. */
  kernels: string[];
  /** Why fewer threads than asked for run, if so. */
  fallbackReason?: string;
}

/** Options of {@link selectBackend}. */
export interface SelectBackendOptions {
  /** Module loader; tests replace it to simulate installed or missing optional packages. */
  importer?: ModuleImporter;
  /** Tells whether a CUDA device is visible; defaults to {@link cudaDeviceVisible}. */
  cudaVisible?: () => Promise<boolean>;
  /**
   * Whether the project's WebAssembly SIMD kernels (depthwise 3-D convolutions, pointwise GEMM) replace
   * tfjs's own on the cpu and wasm backends, and on how many threads (default: the logical cores, at
   * most 4). Default: on for `auto`, off for an explicit backend (which then runs tfjs's kernels and the
   * reference depthwise kernels unchanged).
   */
  fastKernels?: boolean | { threads?: number };
}

/** Install hints shown when an optional backend is missing. */
export const BACKEND_HINTS: Record<BackendName, string> = {
  tensorflow:
    'npm i @tensorflow/tfjs-node-gpu (Linux, CUDA 11.2 + cuDNN 8.1) or npm i @tensorflow/tfjs-node (CPU, needs internet at install)',
  webgpu:
    'in Node: npm i webgpu (and a Vulkan driver, or Mesa EGL for a software adapter); in browsers: a WebGPU-enabled browser',
  wasm: 'npm i @tensorflow/tfjs-backend-wasm',
  cpu: 'always available',
};

/**
 * Whether an NVIDIA CUDA device is visible to this process: the driver is loaded and
 * `CUDA_VISIBLE_DEVICES` does not hide every device.
 */
export async function cudaDeviceVisible(): Promise<boolean> {
  if (!isNode()) return false;
  const visible = process.env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined && (visible.trim() === '' || visible.trim() === '-1')) return false;
  const fs = await import('node:fs');
  return fs.existsSync('/proc/driver/nvidia/version') || fs.existsSync('/dev/nvidia0');
}

/** Stops tfjs's one-time "install our node backend" banner: we choose backends ourselves. */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

// Quiet from the first tensor on, even for callers that never select a backend (tests, libraries).
silenceCpuBanner();

async function activate(name: string): Promise<boolean> {
  try {
    const ok = await tf.setBackend(name);
    if (ok) await tf.ready();
    return ok;
  } catch {
    return false;
  }
}

async function tryTensorflow(options: SelectBackendOptions, attempts: BackendAttempt[]): Promise<boolean> {
  const importer = options.importer ?? defaultImporter;
  if (!isNode()) {
    attempts.push({
      backend: 'tensorflow',
      variant: '@tensorflow/tfjs-node',
      ok: false,
      detail: 'only available under Node.js',
    });
    return false;
  }
  const cudaVisible = await (options.cudaVisible ?? cudaDeviceVisible)();
  // Both packages register the same 'tensorflow' backend; the GPU build only helps with CUDA.
  for (const variant of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (variant.endsWith('-gpu') && !cudaVisible) {
      attempts.push({ backend: 'tensorflow', variant, ok: false, detail: 'no CUDA device visible' });
      continue;
    }
    const loaded = await tryImport(variant, importer);
    if (!loaded.ok) {
      attempts.push({ backend: 'tensorflow', variant, ok: false, detail: loaded.reason });
      continue;
    }
    if (await activate('tensorflow')) {
      attempts.push({
        backend: 'tensorflow',
        variant,
        ok: true,
        detail: variant.endsWith('-gpu') ? 'CUDA device visible' : 'native TensorFlow CPU',
      });
      return true;
    }
    attempts.push({
      backend: 'tensorflow',
      variant,
      ok: false,
      detail: 'loaded but the tensorflow backend did not initialise',
    });
  }
  return false;
}

/** Imports backend package `pkg` and switches tfjs to `backend`, recording the attempt (`okDetail` on success). */
async function loadBackend(
  backend: BackendName,
  pkg: string,
  options: SelectBackendOptions,
  attempts: BackendAttempt[],
  okDetail: string,
): Promise<boolean> {
  const loaded = await tryImport(pkg, options.importer);
  if (!loaded.ok || !(await activate(backend))) {
    attempts.push({
      backend,
      variant: pkg,
      ok: false,
      detail: loaded.ok ? 'backend did not initialise' : loaded.reason,
    });
    return false;
  }
  attempts.push({ backend, variant: pkg, ok: true, detail: okDetail });
  return true;
}

async function tryWebGpu(options: SelectBackendOptions, attempts: BackendAttempt[]): Promise<boolean> {
  const gpu = await installWebGpu(options.importer);
  if (!gpu.ok) {
    attempts.push({ backend: 'webgpu', variant: 'webgpu', ok: false, detail: gpu.reason });
    return false;
  }
  return loadBackend(
    'webgpu',
    '@tensorflow/tfjs-backend-webgpu',
    options,
    attempts,
    `adapter: ${gpu.description}${gpu.compatibilityMode ? ' (compatibility mode)' : ''}`,
  );
}

async function tryWasm(options: SelectBackendOptions, attempts: BackendAttempt[]): Promise<boolean> {
  if (!hasWasmSimd()) {
    attempts.push({
      backend: 'wasm',
      variant: '@tensorflow/tfjs-backend-wasm',
      ok: false,
      detail: 'WebAssembly SIMD is not supported by this runtime',
    });
    return false;
  }
  return loadBackend('wasm', '@tensorflow/tfjs-backend-wasm', options, attempts, 'WebAssembly SIMD');
}

async function tryCpu(attempts: BackendAttempt[]): Promise<boolean> {
  const ok = await activate('cpu');
  attempts.push({
    backend: 'cpu',
    variant: '@tensorflow/tfjs-backend-cpu',
    ok,
    detail: ok ? 'plain JavaScript' : 'did not initialise',
  });
  return ok;
}

const TRIERS: Record<BackendName, (o: SelectBackendOptions, a: BackendAttempt[]) => Promise<boolean>> = {
  tensorflow: (o, a) => tryTensorflow(o, a),
  webgpu: tryWebGpu,
  wasm: tryWasm,
  cpu: (_o, a) => tryCpu(a),
};

/**
 * Selects and activates a tfjs backend.
 *
 * An explicit preference that cannot be satisfied is an error whose message carries the
 * install hint; `auto` never fails (the `cpu` backend is always there).
 */
export async function selectBackend(
  preference: BackendPreference = 'auto',
  options: SelectBackendOptions = {},
): Promise<BackendChoice> {
  silenceCpuBanner();
  const attempts: BackendAttempt[] = [];
  const fast = options.fastKernels ?? preference === 'auto';
  if (preference !== 'auto') {
    if (await TRIERS[preference](options, attempts)) {
      return done(preference, attempts, `requested explicitly (${attempts[attempts.length - 1]!.detail})`, fast);
    }
    const why = attempts.map((a) => `${a.variant}: ${a.detail}`).join('; ');
    throw new BackendUnavailableError(
      preference,
      `backend '${preference}' is not available (${why}). Hint: ${BACKEND_HINTS[preference]}`,
      attempts,
    );
  }
  if (await tryTensorflow(options, attempts)) {
    const gpu = attempts[attempts.length - 1]!.variant.endsWith('-gpu');
    return done(
      'tensorflow',
      attempts,
      gpu ? 'tfjs-node-gpu is installed and a CUDA device is visible' : 'tfjs-node (native TensorFlow) is installed',
      fast,
    );
  }
  if (await tryWasm(options, attempts))
    return done(
      'wasm',
      attempts,
      'no native TensorFlow; WebAssembly SIMD is the fastest CPU path available offline',
      fast,
    );
  await tryCpu(attempts);
  return done(
    'cpu',
    attempts,
    'no native TensorFlow and no WebAssembly SIMD; using the plain JavaScript backend',
    fast,
  );
}

async function done(
  backend: BackendName,
  attempts: BackendAttempt[],
  reason: string,
  fastKernels: SelectBackendOptions['fastKernels'],
): Promise<BackendChoice> {
  silenceCpuBanner();
  const choice: BackendChoice = { backend, tfjsName: tf.getBackend(), reason, attempts };
  if (fastKernels && (backend === 'wasm' || backend === 'cpu')) {
    // After the backend is active: importing a backend package registers its kernels over ours.
    const threads = typeof fastKernels === 'object' ? fastKernels.threads : undefined;
    const { registered, runtime } = await enableFastKernels({ threads, backends: [backend] });
    const fallbackReason = (runtime as { fallbackReason?: string }).fallbackReason;
    choice.fastKernels = {
      threads: runtime.activeThreads,
      kernels: registered,
      ...(fallbackReason ? { fallbackReason } : {}),
    };
    choice.reason += `; WebAssembly SIMD kernels on ${runtime.activeThreads} thread(s)`;
  }
  return choice;
}

/** Thrown when an explicitly requested backend cannot be used (a {@link Tensor3dError}, code `BACKEND_UNAVAILABLE`). */
export class BackendUnavailableError extends Tensor3dError {
  override name = 'BackendUnavailableError';

  constructor(
    readonly backend: BackendName,
    message: string,
    readonly attempts: BackendAttempt[],
  ) {
    super('BACKEND_UNAVAILABLE', message);
  }
}
