/**
 * A plain, printable description of a WebGPU adapter: what `mednext doctor` and the GPU benchmark report.
 *
 * WebGPU's `GPUAdapter` keeps its limits and features in live objects (a `GPUSupportedLimits` whose fields are
 * prototype getters, a set-like `GPUSupportedFeatures`) that `JSON.stringify` turns into `{}`; this module copies
 * them into plain data and says whether the adapter is a software rasteriser (Mesa llvmpipe/lavapipe, SwiftShader),
 * whose speed says nothing about a GPU.
 */

/** The part of `GPUAdapter` read here (typed structurally so callers need no WebGPU type package). */
export interface AdapterLike {
  readonly info?: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  readonly limits: object;
  readonly features: Iterable<string>;
}

/** The limits that decide how a 3-D network is tiled on the adapter, in this order in reports. */
export const KEY_GPU_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** A WebGPU adapter as plain data. */
export interface GpuAdapterDescription {
  /** Human-readable name: the driver's description, else the device name. */
  adapter: string;
  vendor: string;
  architecture: string;
  device: string;
  /** The native API under WebGPU when the caller knows it (`vulkan`, `opengles`, `metal`, `d3d12`, `browser`). */
  backend?: string;
  /** A CPU rasteriser (llvmpipe, lavapipe, SwiftShader, WARP) or a fallback adapter: correct, not fast. */
  software: boolean;
  /** {@link KEY_GPU_LIMITS}, in bytes or counts. */
  limits: Record<string, number>;
  /** Every optional feature, sorted. */
  features: string[];
  /** Whether WGSL may use `f16` (`enable f16;`). */
  shaderF16: boolean;
}

/** Names of CPU implementations of WebGPU / Vulkan / GL (Dawn's own CPU adapter calls itself a software one). */
const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b|software/i;

/** Whether an adapter name (description or device) is that of a software rasteriser. */
export function isSoftwareAdapterName(name: string): boolean {
  return SOFTWARE_NAMES.test(name);
}

/**
 * Describes `adapter` as plain data.
 * @param backend the native API the caller created the adapter on, when it knows it (WebGPU does not say)
 * @example
 * ```ts
 * const adapter = await navigator.gpu.requestAdapter();
 * if (adapter) console.log(describeGpuAdapter(adapter, 'browser').limits.maxStorageBufferBindingSize);
 * ```
 */
export function describeGpuAdapter(adapter: AdapterLike, backend?: string): GpuAdapterDescription {
  const info = adapter.info ?? {};
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const device = info.device ?? '';
  const description = info.description ?? '';
  const limits: Record<string, number> = {};
  const source = adapter.limits as Record<string, unknown>;
  for (const key of KEY_GPU_LIMITS) {
    const value = source[key];
    if (typeof value === 'number') limits[key] = value;
  }
  const features = [...adapter.features].sort();
  return {
    adapter: description || device || vendor || 'unnamed adapter',
    vendor,
    architecture,
    device,
    ...(backend ? { backend } : {}),
    software: info.isFallbackAdapter === true || isSoftwareAdapterName(`${description} ${device}`),
    limits,
    features,
    shaderF16: features.includes('shader-f16'),
  };
}
