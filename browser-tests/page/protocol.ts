/**
 * What the test page exposes on `window.mednextTests`, and what each check returns. Shared (types only) by
 * the page bundle and the Node-side tests that call it through Playwright.
 */

/** One comparison: largest absolute difference and the largest magnitude of the expected values. */
export interface Diff {
  diff: number;
  scale: number;
}

/** Facts about the page's runtime, so a result is never mistaken for one from Node. */
export interface PageEnvironment {
  userAgent: string;
  crossOriginIsolated: boolean;
  sharedArrayBuffer: boolean;
  /** `typeof process` in the page: must be 'undefined' (no Node shims were bundled). */
  processType: string;
  decompressionStream: boolean;
  hardwareConcurrency: number;
}

/** Result of the NIfTI check. */
export interface NiftiResult {
  shape: number[];
  datatype: string;
  affine: number[][];
  orientation: string;
  count: number;
  min: number;
  max: number;
  sum: number;
  sha256: string;
  /** Scaled values at the requested [i, j, k] voxels. */
  spots: number[];
  /** SHA-256 of the voxel bytes after vox_offset of the gunzipped fixture (raw on-disk hash). */
  rawSha256: string;
  roundTrip: {
    /** Whether the encoded file starts with the gzip magic. */
    gzip: boolean;
    byteLength: number;
    shape: number[];
    datatype: string;
    affine: number[][];
    sha256: string;
    /** SHA-256 of the re-encoded file's voxel bytes (gunzipped, after its vox_offset). */
    rawSha256: string;
  };
}

/** How decoding a broken file failed in the page (all null when it did not fail). */
export interface NiftiRejection {
  name: string | null;
  /** `NiftiError.code` */
  code: string | null;
  message: string | null;
  /** Whether the error is an instance of io-nifti's NiftiError. */
  isNiftiError: boolean;
}

/** Result of the depthwise-conv check on one tfjs backend. */
export interface DepthwiseResult {
  backend: string;
  /** `tf.getBackend()` after selection. */
  tfjsBackend: string;
  reason: string;
  /** WebGPU adapter facts (webgpu only). */
  adapter?: { architecture: string; vendor: string; isFallbackAdapter: boolean };
  cases: Array<{ label: string; y: Diff; dx: Diff; df: Diff; transposed: Diff }>;
}

/** Arguments of the MedNeXt forward check: the config, every parameter, and an NCDHW input. */
export interface MedNeXtRequest {
  config: Record<string, unknown>;
  params: Record<string, { shape: number[]; data: number[] }>;
  input: { shape: number[]; data: number[] };
  /**
   * Run the depthwise convs and pointwise GEMMs on tensor3d's WebAssembly kernels (registered as tfjs
   * kernels) with this many threads; absent: tfjs-wasm's own kernels and the reference depthwise kernels.
   */
  fastKernels?: { threads: number };
  /** Run in a dedicated worker (where the kernels' thread pool may block) instead of the main thread. */
  inWorker?: boolean;
  /** tfjs backend (default `'wasm'`); the fast kernels need `'wasm'`. */
  backend?: 'wasm' | 'webgpu';
}

/** Result of the MedNeXt forward check. */
export interface MedNeXtResult {
  tfjsBackend: string;
  /** Where it ran: `'window'` or `'worker'`. */
  context: string;
  /** With fast kernels: the runtime's threads, its fallback reason, and the kernel dispatches of the forward. */
  fastKernels?: { threads: number; fallbackReason: string | null; dispatches: number };
  shape: number[];
  data: number[];
}

/** Result of the MedNeXt forward on the WebGPU engine: the adapter, first and steady times, the logits. */
export interface WebGpuEngineResult {
  adapter: string;
  /** Whether the adapter is a CPU rasteriser (SwiftShader here). */
  software: boolean;
  firstMs: number;
  steadyMs: number;
  shape: number[];
  data: number[];
}

/** Result of the WebAssembly kernel threads check (run inside a dedicated worker). */
export interface KernelThreadsResult {
  /** Fallback reason of a 2-thread runtime created on the page's main thread (it must fall back). */
  mainThreadFallback: string | null;
  worker: {
    crossOriginIsolated: boolean;
    threads: number;
    fallbackReason: string | null;
    relaxedSimd: boolean;
    /** Each case: threaded vs single-thread (exact) and threaded vs the JS reference. */
    cases: Array<{ label: string; rangesUsed: number; threadedVsSingle: Diff; vsReference: Diff }>;
  };
}

/** One timed kernel of the benchmark (kernel-bench.ts): median ms per call by thread count. */
export interface KernelTiming {
  label: string;
  gflop: number;
  msByThreads: Record<string, number>;
}

/** A MedNeXt forward benchmark: preset, patch, kernel threads, fused multiply-add, timed runs. */
export interface NetworkBenchRequest {
  preset: string;
  patch: [number, number, number];
  threads: number;
  fma: boolean;
  repeats: number;
}

/** Result of a {@link NetworkBenchRequest}. */
export interface NetworkTiming {
  firstMs: number;
  medianMs: number;
  runsMs: number[];
  gflop: number;
  threads: number;
  fma: boolean;
  tfjsBackend: string;
}

/** The API of the test page. */
export interface MednextTestPage {
  environment(): PageEnvironment;
  /** Null when the page has a WebGPU adapter, else why not (WebGPU checks skip with it). */
  webGpuMissing(): Promise<string | null>;
  nifti(url: string, spots: number[][]): Promise<NiftiResult>;
  niftiRejection(url: string): Promise<NiftiRejection>;
  depthwise(backend: 'wasm' | 'webgpu' | 'cpu'): Promise<DepthwiseResult>;
  mednextForward(request: MedNeXtRequest): Promise<MedNeXtResult>;
  /** The same network on the project's WebGPU engine (main thread). */
  webGpuEngineForward(request: MedNeXtRequest): Promise<WebGpuEngineResult>;
  kernelThreads(): Promise<KernelThreadsResult>;
  /** Benchmark: the kernels on a `side`³ volume at 1 and 2 threads, median of `repeats`. */
  kernelBench(side: number, repeats: number): Promise<{ relaxedSimd: boolean; timings: KernelTiming[] }>;
  /** MedNeXt forward timing in a dedicated worker. */
  networkBench(request: NetworkBenchRequest): Promise<NetworkTiming>;
}
