/** Which engine `predict --backend ...` runs the network on: the rules of chooseNetworkEngine. */
import type { AcquiredGpuDevice } from '@mednext-ts/tensor3d/webgpu';
import { describe, expect, it } from 'vitest';
import { chooseNetworkEngine } from '../src/lib/inference/network-engine.js';

/** A fake device acquisition: an adapter of this name, a device whose destruction is recorded. */
function fakeGpu(
  description: string,
  software: boolean,
): { acquire: () => Promise<AcquiredGpuDevice>; destroyed: () => boolean } {
  let destroyed = false;
  const device = { destroy: () => (destroyed = true) } as unknown as GPUDevice;
  return {
    acquire: async () => ({ device, adapter: { description, limits: {}, features: [], software } }),
    destroyed: () => destroyed,
  };
}

describe('chooseNetworkEngine', () => {
  it('auto: the WebGPU engine on a hardware adapter', async () => {
    const gpu = fakeGpu('NVIDIA H100 80GB HBM3', false);
    const choice = await chooseNetworkEngine('auto', { mayHaveGpu: () => true, acquire: gpu.acquire });
    expect(choice.engine).toBe('webgpu');
    expect(choice.adapter?.description).toBe('NVIDIA H100 80GB HBM3');
    expect(gpu.destroyed()).toBe(false);
  });

  it('auto: the CPU on a software adapter (llvmpipe, SwiftShader), releasing its device', async () => {
    const gpu = fakeGpu('llvmpipe (LLVM 15.0.6, 256 bits)', true);
    const choice = await chooseNetworkEngine('auto', { mayHaveGpu: () => true, acquire: gpu.acquire });
    expect(choice.engine).toBe('tfjs');
    expect(choice.reason).toMatch(/software one \(llvmpipe.*CPU kernels are faster/);
    expect(gpu.destroyed()).toBe(true);
  });

  it('auto: no GPU device node, no probe; no adapter, the CPU with the reason', async () => {
    let probed = false;
    const none = await chooseNetworkEngine('auto', {
      mayHaveGpu: () => false,
      acquire: async () => ((probed = true), Promise.reject(new Error('unreachable'))),
    });
    expect(none).toEqual({ engine: 'tfjs', reason: 'no GPU device on this machine' });
    expect(probed).toBe(false);
    const failed = await chooseNetworkEngine('auto', {
      mayHaveGpu: () => true,
      acquire: () => Promise.reject(new Error('WebGPU is not available: no Vulkan driver')),
    });
    expect(failed.engine).toBe('tfjs');
    expect(failed.reason).toMatch(/no WebGPU adapter \(WebGPU is not available: no Vulkan driver\)/);
  });

  it('webgpu: any adapter, software included; an error naming the cause without one', async () => {
    const gpu = fakeGpu('SwiftShader', true);
    const choice = await chooseNetworkEngine('webgpu', { acquire: gpu.acquire });
    expect(choice.engine).toBe('webgpu');
    expect(choice.reason).toMatch(/requested explicitly \(SwiftShader\); a software adapter/);
    await expect(
      chooseNetworkEngine('webgpu', { acquire: () => Promise.reject(new Error('navigator.gpu offers no adapter')) }),
    ).rejects.toThrow(/--backend webgpu: navigator.gpu offers no adapter\. Hint: in Node install the webgpu package/);
  });

  it('other backends keep tfjs', async () => {
    for (const backend of ['cpu', 'wasm', 'tensorflow'] as const) {
      expect(await chooseNetworkEngine(backend)).toEqual({ engine: 'tfjs', reason: `--backend ${backend}` });
    }
  });
});
