/**
 * tfjs backend selection in the page, through the project's `selectBackend` as an application would
 * call it (the bundler splits the wasm and webgpu backends into chunks); the WebAssembly binaries are
 * served from tfjs-backend-wasm's own dist.
 */
import * as tfWasm from '@tensorflow/tfjs-backend-wasm';
import { selectBackend, type BackendChoice } from '@mednext-ts/tensor3d';

/** Where the test server mounts node_modules/@tensorflow/tfjs-backend-wasm/dist. */
export const WASM_BINARIES_URL = '/tfjs-wasm/';

tfWasm.setWasmPaths(WASM_BINARIES_URL);

/** Selects `backend` with the project's selector and its default module loading. */
export function useBackend(backend: 'wasm' | 'webgpu' | 'cpu'): Promise<BackendChoice> {
  return selectBackend(backend);
}

/** The WebGPU adapter the page gets (SwiftShader on a machine without a GPU). */
export async function webGpuAdapterInfo(): Promise<{
  architecture: string;
  vendor: string;
  isFallbackAdapter: boolean;
}> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('navigator.gpu offers no adapter');
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return { architecture: info.architecture, vendor: info.vendor, isFallbackAdapter: info.isFallbackAdapter === true };
}

/** Null when `navigator.gpu` offers an adapter, else the reason the WebGPU checks cannot run here. */
export async function webGpuMissing(): Promise<string | null> {
  if (!('gpu' in navigator)) return 'this browser has no navigator.gpu';
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  return adapter
    ? null
    : 'navigator.gpu offers no adapter (Chromium needs --enable-unsafe-webgpu; see harness/chromium.ts)';
}
