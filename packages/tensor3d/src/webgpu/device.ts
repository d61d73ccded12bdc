/// <reference types="@webgpu/types" />
/**
 * Getting a `GPUDevice` for the project's own WGSL kernels.
 *
 * Browsers: `navigator.gpu`. Node: the `webgpu` package (Dawn), installed by {@link installWebGpu} — its native
 * backend first (Vulkan on a Linux GPU server), then Dawn's OpenGL ES backend at the compatibility feature level
 * (Mesa llvmpipe through surfaceless EGL on a machine without a GPU).
 */
import { isSoftwareAdapterName } from '../compute/gpu-adapter-info.js';
import { installWebGpu } from '../compute/webgpu-adapter.js';

/** What is known about the adapter a device came from (for reports, `mednext doctor` and benchmarks). */
export interface GpuAdapterSummary {
  /** Human-readable adapter name (e.g. "NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)"). */
  description: string;
  /** How the adapter was reached: `native` (Vulkan/Metal/D3D12, or the browser's own), or `opengles`. */
  backend?: string;
  /** The adapter's limits (all numeric limits of `GPUSupportedLimits`). */
  limits: Record<string, number>;
  /** The adapter's features (e.g. `shader-f16`). */
  features: string[];
  /** A CPU rasteriser (llvmpipe, lavapipe, SwiftShader, WARP, a fallback adapter): correct but slow. */
  software: boolean;
}

/** A device plus the summary of the adapter it came from. */
export interface AcquiredGpuDevice {
  device: GPUDevice;
  adapter: GpuAdapterSummary;
}

/** Options of {@link acquireGpuDevice}. */
export interface AcquireGpuOptions {
  /** Request the `shader-f16` feature when the adapter has it (default false). */
  f16?: boolean;
}

/** Whether an adapter is a CPU rasteriser (by its fallback flag or its name; see {@link isSoftwareAdapterName}). */
export function isSoftwareAdapter(info: {
  description?: string;
  device?: string;
  isFallbackAdapter?: boolean;
}): boolean {
  return info.isFallbackAdapter === true || isSoftwareAdapterName(`${info.description ?? ''} ${info.device ?? ''}`);
}

/** Raised when no WebGPU adapter or device can be had; `reason` says why. */
export class GpuUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`WebGPU is not available: ${reason}`);
    this.name = 'GpuUnavailableError';
  }
}

function limitsRecord(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  // GPUSupportedLimits exposes its values as prototype getters, so walk the prototype too.
  for (let o: object | null = limits; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      const v = (limits as unknown as Record<string, unknown>)[key];
      if (typeof v === 'number' && !(key in out)) out[key] = v;
    }
  }
  return out;
}

/** Summarises an adapter (name, backend, limits, features). */
export function summarizeAdapter(adapter: GPUAdapter, backend?: string): GpuAdapterSummary {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const parts = [info.description, info.device, info.vendor, info.architecture].filter((s) => !!s);
  // Dawn's GL backend describes itself by GL version only; the renderer name (e.g. llvmpipe) is the device.
  let description = info.description || parts.join(' ') || 'unnamed adapter';
  if (info.device && !description.includes(info.device)) description += ` (${info.device})`;
  return {
    description,
    backend,
    limits: limitsRecord(adapter.limits),
    features: [...adapter.features].map(String).sort(),
    software: isSoftwareAdapter({ description: parts.join(' '), isFallbackAdapter: info.isFallbackAdapter }),
  };
}

/**
 * Finds a WebGPU adapter and opens a device on it with the adapter's full storage limits (Dawn otherwise grants
 * only the WebGPU defaults, e.g. 128 MiB per storage binding).
 *
 * @example
 * ```ts
 * const { device, adapter } = await acquireGpuDevice();
 * console.log(adapter.description, adapter.limits.maxStorageBufferBindingSize);
 * ```
 * @throws GpuUnavailableError when there is no adapter (message says why: no `webgpu` package, no driver, ...)
 */
export async function acquireGpuDevice(options: AcquireGpuOptions = {}): Promise<AcquiredGpuDevice> {
  const probe = await installWebGpu();
  if (!probe.ok) throw new GpuUnavailableError(probe.reason);
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new GpuUnavailableError('navigator.gpu is missing after installing WebGPU');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new GpuUnavailableError('navigator.gpu offers no adapter');
  const want = [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxStorageBuffersPerShaderStage',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupsPerDimension',
  ] as const;
  const requiredLimits: Record<string, number> = {};
  for (const key of want) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[key];
    if (typeof v === 'number') requiredLimits[key] = v;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  if (options.f16 && adapter.features.has('shader-f16')) requiredFeatures.push('shader-f16');
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    throw new GpuUnavailableError(`requestDevice failed: ${(e as Error).message}`);
  }
  const backend = probe.compatibilityMode ? 'opengles' : 'native';
  return { device, adapter: summarizeAdapter(adapter, backend) };
}
