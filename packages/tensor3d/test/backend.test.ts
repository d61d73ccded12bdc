import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BackendUnavailableError, selectBackend, tryImport, type ModuleImporter } from '../src/compute/index.js';

/** An importer for which every optional package is missing, as on a machine without them. */
const missingEverything: ModuleImporter = async (specifier) => {
  if (specifier.startsWith('@tensorflow/tfjs-node')) {
    const error = new Error(`Cannot find package '${specifier}' imported from x.js`) as Error & { code: string };
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return import(specifier);
};

describe('tryImport', () => {
  it('reports a missing package as "not installed"', async () => {
    const result = await tryImport('@tensorflow/tfjs-node-gpu', missingEverything);
    expect(result).toEqual({ ok: false, reason: '@tensorflow/tfjs-node-gpu is not installed' });
  });

  it('reports a package that fails to load with the first line of its error', async () => {
    const broken: ModuleImporter = async () => {
      throw new Error('The Node.js native addon module (tfjs_binding.node) can not be found\n    at stack line');
    };
    const result = await tryImport('@tensorflow/tfjs-node', broken);
    expect(result).toEqual({
      ok: false,
      reason:
        '@tensorflow/tfjs-node failed to load: The Node.js native addon module (tfjs_binding.node) can not be found',
    });
  });

  it('returns the module when it loads', async () => {
    const result = await tryImport<{ version_core: string }>('@tensorflow/tfjs-core');
    expect(result.ok && result.module.version_core).toBe('4.22.0');
  });
});

describe('selectBackend', () => {
  it('auto without tfjs-node picks WebAssembly SIMD and says why', async () => {
    const choice = await selectBackend('auto', { importer: missingEverything, cudaVisible: async () => false });
    expect(choice.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.reason).toMatch(/WebAssembly SIMD/);
    expect(choice.attempts.map((a) => [a.variant, a.ok])).toEqual([
      ['@tensorflow/tfjs-node-gpu', false],
      ['@tensorflow/tfjs-node', false],
      ['@tensorflow/tfjs-backend-wasm', true],
    ]);
    expect(choice.attempts[0]!.detail).toBe('no CUDA device visible');
    expect(choice.attempts[1]!.detail).toBe('@tensorflow/tfjs-node is not installed');
  });

  it('auto with CUDA visible but tfjs-node-gpu missing says it is not installed', async () => {
    const choice = await selectBackend('auto', { importer: missingEverything, cudaVisible: async () => true });
    expect(choice.attempts[0]).toMatchObject({
      variant: '@tensorflow/tfjs-node-gpu',
      ok: false,
      detail: '@tensorflow/tfjs-node-gpu is not installed',
    });
  });

  it('an explicit backend that is missing throws one line with an install hint', async () => {
    const attempt = selectBackend('tensorflow', { importer: missingEverything, cudaVisible: async () => false });
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(attempt).rejects.toThrow(
      /^backend 'tensorflow' is not available .*Hint: npm i @tensorflow\/tfjs-node-gpu/,
    );
    const error = await attempt.catch((e: BackendUnavailableError) => e);
    expect(error.message).not.toContain('\n');
  });

  it('auto prefers tfjs-node-gpu when it loads and CUDA is visible', async () => {
    // A stand-in for the native package: importing it registers a backend named 'tensorflow'.
    const fakeNative: ModuleImporter = async (specifier) => {
      if (specifier === '@tensorflow/tfjs-node-gpu') {
        if (!tf.findBackendFactory('tensorflow')) tf.registerBackend('tensorflow', () => new MathBackendCPU());
        return {};
      }
      return missingEverything(specifier);
    };
    const choice = await selectBackend('auto', { importer: fakeNative, cudaVisible: async () => true });
    expect(choice.backend).toBe('tensorflow');
    expect(tf.getBackend()).toBe('tensorflow');
    expect(choice.reason).toBe('tfjs-node-gpu is installed and a CUDA device is visible');
    tf.removeBackend('tensorflow');
  });

  it('cpu is always available and computes', async () => {
    const choice = await selectBackend('cpu');
    expect(choice.tfjsName).toBe('cpu');
    expect(Array.from(tf.add(tf.tensor1d([1, 2]), 3).dataSync())).toEqual([4, 5]);
  });

  it('auto puts the WebAssembly SIMD kernels on the CPU backend; an explicit backend keeps tfjs kernels unless asked', async () => {
    const explicit = await selectBackend('cpu');
    expect(explicit.fastKernels).toBeUndefined();
    const auto = await selectBackend('auto', {
      importer: missingEverything,
      cudaVisible: async () => false,
      fastKernels: { threads: 1 },
    });
    expect(auto.backend).toBe('wasm');
    expect(auto.fastKernels?.threads).toBe(1);
    expect(auto.fastKernels?.kernels).toEqual(expect.arrayContaining(['DepthwiseConv3D@wasm', 'BatchMatMul@wasm']));
    expect(auto.reason).toMatch(/WebAssembly SIMD kernels on 1 thread/);
    // The registered kernel computes: a 1x1x1 depthwise "convolution" scales each channel.
    const { depthwiseConv3d } = await import('../src/ops/index.js');
    const x = tf.tensor5d([1, 2, 3, 4], [1, 1, 1, 2, 2]);
    const w = tf.tensor4d([10, 100], [1, 1, 1, 2]);
    expect(Array.from(await depthwiseConv3d(x, w, {}).data())).toEqual([10, 200, 30, 400]);
  });
});
