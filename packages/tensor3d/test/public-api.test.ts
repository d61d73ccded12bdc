import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as root from '../src/index.js';
import * as volume from '../src/volume/index.js';
import { Tensor3dError } from '../src/errors.js';

/** Every relative module reachable from `entry` by static imports and re-exports, and the packages they import. */
function importGraph(entry: URL): { modules: string[]; packages: Set<string> } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (url: URL): void => {
    if (seen.has(url.href)) return;
    seen.add(url.href);
    const text = readFileSync(url, 'utf8');
    for (const m of text.matchAll(
      /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|(?:^|\n)\s*import\s+'([^']+)'/g,
    )) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) visit(new URL(spec.replace(/\.js$/, '.ts'), url));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { modules: [...seen], packages };
}

describe('@mednext-ts/tensor3d/volume', () => {
  it('imports no tfjs, directly or through any module it reaches', () => {
    const { modules, packages } = importGraph(new URL('../src/volume/index.ts', import.meta.url));
    expect(modules.length).toBeGreaterThan(10);
    expect([...packages].filter((p) => p.includes('tensorflow'))).toEqual([]);
  });

  it('exports the volume operations and not their internals', () => {
    for (const name of [
      'cropVolume',
      'labelConnectedComponents',
      'slidingWindowInference',
      'robustHausdorff',
      'Random',
    ]) {
      expect(volume, name).toHaveProperty(name);
    }
    for (const name of [
      'numpyPairwiseSum',
      'surfelAreaTable',
      'GridPointTree',
      'neighbourOffsets',
      'checkConnectivity',
    ]) {
      expect(volume, name).not.toHaveProperty(name);
    }
  });
});

describe('@mednext-ts/tensor3d', () => {
  it('exports the public surface and keeps the kernels internals out of it', () => {
    for (const name of [
      'selectBackend',
      'Tensor3dError',
      'BackendUnavailableError',
      'depthwiseConv3d',
      'wasmKernels',
    ]) {
      expect(root, name).toHaveProperty(name);
    }
    for (const name of [
      'ModuleBuilder',
      'buildKernelModule',
      'FirstFitHeap',
      'emitKernel',
      'tryImport',
      'replaceKernel',
    ]) {
      expect(root, name).not.toHaveProperty(name);
      expect(root.wasmKernels, name).not.toHaveProperty(name);
    }
    expect(root.wasmKernels.KERNEL_TABLE.map((d) => d.name)).toContain('block_tail');
    expect(root.wasmKernels).toHaveProperty('invertedBottleneck');
    expect(root.wasmKernels).not.toHaveProperty('mednextBlock');
    expect(root.wasmKernels).not.toHaveProperty('blockWeightsFromTorch');
  });
});

describe('Tensor3dError', () => {
  /** The code of the Tensor3dError that `fn` throws. */
  const codeOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(Tensor3dError);
      return (e as Tensor3dError).code;
    }
    throw new Error('nothing was thrown');
  };
  const rt = root.wasmKernels.createKernelRuntimeSync();
  const K = root.wasmKernels;

  it('gives bad shapes, bad arguments, memory misuse and limits their codes, keeping the messages', () => {
    const x = new Float32Array(10);
    expect(codeOf(() => K.matmulBias(rt, x, 2, 4, new Float32Array(8), 2))).toBe('BAD_SHAPE');
    expect(() => K.matmulBias(rt, x, 2, 4, new Float32Array(8), 2)).toThrow(
      'matmulBias: x has 10 values, [2, 4] needs 8',
    );
    expect(codeOf(() => K.depthwiseConv3d(rt, { x, shape: [1, 1, 1, 10, 1], filter: x, k: 4 }))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => K.transposeMatrix(x, 3, 3))).toBe('BAD_SHAPE');
    expect(codeOf(() => rt.alloc(-1))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => rt.allocKept(5 * 2 ** 30))).toBe('OUT_OF_MEMORY');
    const mark = rt.mark();
    const scoped = rt.alloc(64);
    expect(codeOf(() => rt.free(scoped))).toBe('BAD_MEMORY_USE');
    rt.release(mark);
    expect(codeOf(() => volume.cropVolume({ data: x, shape: [2, 5, 2] }, { start: [0, 0, 0], end: [1, 1, 1] }))).toBe(
      'BAD_SHAPE',
    );
    expect(codeOf(() => volume.labelConnectedComponents(x, [1, 1, 10], 4 as never))).toBe('BAD_ARGUMENT');
  });

  it('is what an unavailable backend and bad runtime options raise', async () => {
    await expect(K.createKernelRuntime({ threads: 0 })).rejects.toMatchObject({
      name: 'Tensor3dError',
      code: 'BAD_ARGUMENT',
    });
    const unavailable = new root.BackendUnavailableError('webgpu', 'no adapter', []);
    expect(unavailable).toBeInstanceOf(Tensor3dError);
    expect([unavailable.code, unavailable.name, unavailable.message]).toEqual([
      'BACKEND_UNAVAILABLE',
      'BackendUnavailableError',
      'no adapter',
    ]);
  });
});
