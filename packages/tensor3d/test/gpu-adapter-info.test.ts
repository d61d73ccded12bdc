import { describe, expect, it } from 'vitest';
import { KEY_GPU_LIMITS, describeGpuAdapter, isSoftwareAdapterName } from '../src/compute/gpu-adapter-info.js';

/** Limits as WebGPU exposes them: getters on the prototype, invisible to JSON.stringify and Object.keys. */
class FakeLimits {
  get maxStorageBufferBindingSize(): number {
    return 2 ** 31;
  }
  get maxBufferSize(): number {
    return 2 ** 34;
  }
  get maxComputeWorkgroupStorageSize(): number {
    return 49152;
  }
  get maxTextureDimension1D(): number {
    return 8192;
  }
}

describe('describeGpuAdapter', () => {
  it('copies the key limits and the sorted features into plain data', () => {
    const d = describeGpuAdapter(
      {
        info: { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100', description: 'NVIDIA: 580.159.04' },
        limits: new FakeLimits(),
        features: new Set(['timestamp-query', 'shader-f16', 'subgroups']),
      },
      'vulkan',
    );
    expect(JSON.parse(JSON.stringify(d))).toEqual({
      adapter: 'NVIDIA: 580.159.04',
      vendor: 'nvidia',
      architecture: 'hopper',
      device: 'NVIDIA H100',
      backend: 'vulkan',
      software: false,
      limits: { maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 34, maxComputeWorkgroupStorageSize: 49152 },
      features: ['shader-f16', 'subgroups', 'timestamp-query'],
      shaderF16: true,
    });
    expect(Object.keys(d.limits).every((k) => (KEY_GPU_LIMITS as readonly string[]).includes(k))).toBe(true);
  });

  it('marks software rasterisers and fallback adapters', () => {
    const llvmpipe = describeGpuAdapter({
      info: { device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6' },
      limits: {},
      features: [],
    });
    expect(llvmpipe).toMatchObject({
      software: true,
      shaderF16: false,
      adapter: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6',
    });
    expect(llvmpipe.backend).toBeUndefined();
    expect(describeGpuAdapter({ info: { isFallbackAdapter: true }, limits: {}, features: [] }).software).toBe(true);
    expect(describeGpuAdapter({ limits: {}, features: [] }).adapter).toBe('unnamed adapter');
    expect(isSoftwareAdapterName('Google SwiftShader')).toBe(true);
    expect(isSoftwareAdapterName('NVIDIA H200')).toBe(false);
  });
});
