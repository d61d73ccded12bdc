/**
 * `mednext doctor` reports the compute engines it found: the WebGPU engine with its adapter (backend, key limits,
 * features, software or not) and the WebAssembly SIMD kernels with their threads and SIMD levels.
 */
import { describe, expect, it } from 'vitest';
import type { BackendProbe } from '../src/lib/backend-probe.js';
import { describeEngines, formatEngines, type EngineReport } from '../src/lib/engines-report.js';
import { mednext } from './cli-helpers.js';

const llvmpipe = {
  adapter: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6',
  vendor: '',
  architecture: '',
  device: 'llvmpipe-llvm-15-0-6-256-bits-',
  backend: 'opengles',
  software: true,
  limits: { maxStorageBufferBindingSize: 134217728, maxComputeWorkgroupStorageSize: 32768 },
  features: ['float32-blendable'],
  shaderF16: false,
};
const wasm = { simd: true, relaxedSimd: false, threads: true };

describe('doctor engines', () => {
  it('describes the adapter of the webgpu probe and the kernels auto set up', () => {
    const probe: BackendProbe = { backend: 'webgpu', available: true, attempts: [], notes: [], adapter: llvmpipe };
    const auto = { fastKernels: { threads: 3, kernels: ['Conv3D@cpu'] } };
    const [webgpu, kernels] = describeEngines({ webgpuProbe: probe, auto, wasm, logicalCores: 16 });
    expect(webgpu).toEqual({ engine: 'webgpu', available: true, ...llvmpipe });
    expect(kernels).toEqual({
      engine: 'wasm-kernels',
      available: true,
      threads: 3,
      simd: true,
      relaxedSimd: false,
      kernels: ['Conv3D@cpu'],
    });
    const text = formatEngines([webgpu!, kernels!]).join('\n');
    expect(text).toContain('webgpu       yes  OpenGL version OpenGL ES 3.2 Mesa 22.3.6 via opengles (software adapter');
    expect(text).toContain('limits: maxStorageBufferBindingSize 134217728, maxComputeWorkgroupStorageSize 32768');
    expect(text).toContain('shader-f16 no; features: float32-blendable');
    expect(text).toContain('wasm-kernels yes  3 threads, SIMD yes, relaxed SIMD no');
  });

  it('says why there is no WebGPU engine, and takes the runtime default threads when auto did not set kernels up', () => {
    const probe: BackendProbe = {
      backend: 'webgpu',
      available: false,
      attempts: [{ backend: 'webgpu', variant: 'webgpu', ok: false, detail: 'the webgpu package found no adapter' }],
      notes: [],
    };
    const engines = describeEngines({ webgpuProbe: probe, auto: {}, wasm, logicalCores: 16 });
    expect(engines[0]).toEqual({ engine: 'webgpu', available: false, detail: 'the webgpu package found no adapter' });
    expect(engines[1]).toMatchObject({ threads: 4, kernels: [] });
    const single = describeEngines({
      webgpuProbe: undefined,
      auto: {},
      wasm: { ...wasm, threads: false },
      logicalCores: 16,
    });
    expect(single[1]).toMatchObject({ threads: 1 });
    expect(formatEngines(engines)[0]).toBe('    webgpu       no   the webgpu package found no adapter');
  });

  it('mednext doctor --json lists the engines found on this machine', async () => {
    const json = JSON.parse((await mednext(['doctor', '--json'])).stdout) as {
      engines: EngineReport[];
      backends: { backend: string; available: boolean }[];
      wasm: { simd: boolean };
    };
    expect(json.engines.map((e) => e.engine)).toEqual(['webgpu', 'wasm-kernels']);
    const [webgpu, kernels] = json.engines as [
      Extract<EngineReport, { engine: 'webgpu' }>,
      Extract<EngineReport, { engine: 'wasm-kernels' }>,
    ];
    // tfjs's WebGPU backend works only on an adapter, so it being available means the engine saw one.
    if (json.backends.find((b) => b.backend === 'webgpu')!.available) expect(webgpu.available).toBe(true);
    if (webgpu.available) {
      expect(['vulkan', 'opengles', 'metal', 'd3d12']).toContain(webgpu.backend);
      expect(webgpu.limits!.maxStorageBufferBindingSize).toBeGreaterThan(0);
      expect(webgpu.limits!.maxComputeWorkgroupStorageSize).toBeGreaterThan(0);
      expect(typeof webgpu.software).toBe('boolean');
      expect(webgpu.features).toEqual([...webgpu.features!].sort());
    } else expect(webgpu.detail).toBeTruthy();
    expect(kernels.simd).toBe(json.wasm.simd);
    expect(kernels.threads).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
