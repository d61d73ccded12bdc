/**
 * The compute engines `mednext doctor` reports: the project's own engines (the WebGPU engine on a GPU adapter, the
 * WebAssembly SIMD kernels on the CPU) with what decides their speed, next to the tfjs backends it lists apart.
 */
import type { BackendChoice, GpuAdapterDescription } from '@mednext-ts/tensor3d';
import type { BackendProbe } from './backend-probe.js';

/** The WebGPU engine: the adapter it would run on. */
export interface WebGpuEngineReport extends Partial<GpuAdapterDescription> {
  engine: 'webgpu';
  available: boolean;
  /** Why it is not available, when not. */
  detail?: string;
}

/** The WebAssembly SIMD kernels (the CPU engine). */
export interface WasmKernelsEngineReport {
  engine: 'wasm-kernels';
  available: boolean;
  /** Threads the kernels run on: those `auto` set up, else the default the runtime would take. */
  threads: number;
  simd: boolean;
  relaxedSimd: boolean;
  /** tfjs kernels they serve under `auto` (empty when `auto` picked a backend they do not serve). */
  kernels: string[];
  detail?: string;
}

export type EngineReport = WebGpuEngineReport | WasmKernelsEngineReport;

/** What the engines are judged from. */
export interface EngineFacts {
  /** The isolated probe of the `webgpu` backend (its `adapter` field). */
  webgpuProbe: BackendProbe | undefined;
  auto: Pick<BackendChoice, 'fastKernels'>;
  wasm: { simd: boolean; relaxedSimd: boolean; threads: boolean };
  logicalCores: number;
}

/**
 * The engines found, WebGPU first.
 * @example
 * ```ts
 * const engines = describeEngines({ webgpuProbe, auto, wasm: { simd: true, relaxedSimd: false, threads: true }, logicalCores: 8 });
 * ```
 */
export function describeEngines(facts: EngineFacts): EngineReport[] {
  const adapter = facts.webgpuProbe?.adapter;
  const webgpu: WebGpuEngineReport = adapter
    ? { engine: 'webgpu', available: true, ...adapter }
    : {
        engine: 'webgpu',
        available: false,
        detail:
          facts.webgpuProbe?.attempts.find((a) => a.variant === 'webgpu' && !a.ok)?.detail ?? 'no WebGPU adapter found',
      };
  const fast = facts.auto.fastKernels;
  // The kernel runtime's default: the logical cores, at most 4, one where workers or shared memory are missing.
  const defaultThreads = facts.wasm.threads ? Math.min(4, Math.max(1, facts.logicalCores)) : 1;
  const wasmKernels: WasmKernelsEngineReport = {
    engine: 'wasm-kernels',
    available: facts.wasm.simd,
    threads: fast?.threads ?? defaultThreads,
    simd: facts.wasm.simd,
    relaxedSimd: facts.wasm.relaxedSimd,
    kernels: fast?.kernels ?? [],
    ...(facts.wasm.simd ? {} : { detail: 'this runtime has no WebAssembly SIMD' }),
    ...(fast?.fallbackReason ? { detail: fast.fallbackReason } : {}),
  };
  return [webgpu, wasmKernels];
}

/** The engines as report lines (indented, no trailing newline). */
export function formatEngines(engines: EngineReport[]): string[] {
  const lines: string[] = [];
  for (const e of engines) {
    if (e.engine === 'webgpu') {
      if (!e.available) {
        lines.push(`    webgpu       no   ${e.detail}`);
        continue;
      }
      lines.push(
        `    webgpu       yes  ${e.adapter} via ${e.backend}${e.software ? ' (software adapter: correct, not fast)' : ''}`,
      );
      lines.push(
        `${' '.repeat(21)}limits: ${Object.entries(e.limits ?? {})
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
      lines.push(
        `${' '.repeat(21)}shader-f16 ${e.shaderF16 ? 'yes' : 'no'}; features: ${(e.features ?? []).join(', ') || 'none'}`,
      );
    } else {
      lines.push(
        `    wasm-kernels ${e.available ? 'yes' : 'no '}  ${e.threads} thread${e.threads === 1 ? '' : 's'}, SIMD ${e.simd ? 'yes' : 'no'}, relaxed SIMD ${e.relaxedSimd ? 'yes' : 'no'}` +
          (e.detail ? ` (${e.detail})` : ''),
      );
    }
  }
  return lines;
}
