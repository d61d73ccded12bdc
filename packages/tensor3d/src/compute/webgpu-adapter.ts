/**
 * Makes `navigator.gpu` available to tfjs-backend-webgpu.
 *
 * Browsers have it already. Under Node the `webgpu` package (Dawn) provides one: first with its
 * default backend (Vulkan/Metal/D3D12 on a real GPU), then with Dawn's OpenGL ES backend, which
 * runs on Mesa's llvmpipe through surfaceless EGL and needs the WebGPU compatibility level.
 */
import { isNode } from './environment.js';
import { tryImport, type ModuleImporter } from './optional-import.js';

/** Minimal view of the WebGPU entry point that this module needs. */
interface GpuLike {
  requestAdapter(
    options?: Record<string, unknown>,
  ): Promise<{ info?: { description?: string; device?: string } } | null>;
}

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/** Result of looking for a WebGPU adapter. */
export type WebGpuProbe = { ok: true; description: string; compatibilityMode: boolean } | { ok: false; reason: string };

let installed: WebGpuProbe | undefined;

function adapterName(adapter: { info?: { description?: string; device?: string } }): string {
  return adapter.info?.description || adapter.info?.device || 'unnamed adapter';
}

/** Wraps a GPU object so every `requestAdapter` call asks for the compatibility feature level. */
function withCompatibilityLevel(gpu: GpuLike): GpuLike {
  return {
    requestAdapter: (options?: Record<string, unknown>) =>
      gpu.requestAdapter({ ...options, featureLevel: 'compatibility' }),
  };
}

/**
 * Ensures `globalThis.navigator.gpu` exists and has an adapter. Idempotent: the first result
 * is remembered, because Dawn instances must live for the whole process.
 */
export async function installWebGpu(importer?: ModuleImporter): Promise<WebGpuProbe> {
  if (installed) return installed;
  installed = await findWebGpu(importer);
  return installed;
}

async function findWebGpu(importer?: ModuleImporter): Promise<WebGpuProbe> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  if (nav?.gpu) {
    const adapter = await nav.gpu.requestAdapter();
    return adapter
      ? { ok: true, description: adapterName(adapter), compatibilityMode: false }
      : { ok: false, reason: 'navigator.gpu exists but offers no adapter' };
  }
  if (!isNode()) return { ok: false, reason: 'this runtime has no WebGPU (navigator.gpu is missing)' };

  const dawn = await tryImport<DawnModule>('webgpu', importer);
  if (!dawn.ok) return { ok: false, reason: `${dawn.reason} (npm i webgpu for WebGPU under Node)` };
  Object.assign(globalThis, dawn.module.globals);

  // A real GPU through Dawn's native backend first.
  const native = dawn.module.create([]);
  const nativeAdapter = await native.requestAdapter().catch(() => null);
  if (nativeAdapter) {
    setNavigatorGpu(native);
    return { ok: true, description: adapterName(nativeAdapter), compatibilityMode: false };
  }
  // Then OpenGL ES (works on Mesa llvmpipe in a headless machine).
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const gles = withCompatibilityLevel(dawn.module.create(['backend=opengles']));
  const glesAdapter = await gles.requestAdapter().catch(() => null);
  if (glesAdapter) {
    setNavigatorGpu(gles);
    return { ok: true, description: adapterName(glesAdapter), compatibilityMode: true };
  }
  return { ok: false, reason: 'the webgpu package found no adapter (no Vulkan driver and no EGL/OpenGL ES)' };
}

function setNavigatorGpu(gpu: GpuLike): void {
  const g = globalThis as unknown as { navigator?: object };
  if (g.navigator) {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
}
