import { describe, expect, it } from 'vitest';
import { hasWasmSimd, hasWasmThreads, isNode } from '../src/compute/index.js';
import { assertShape, flatIndex, voxelCount } from '../src/volume/index.js';

describe('runtime detection', () => {
  it('sees Node with WebAssembly SIMD and shared memory (Node 20 has both)', () => {
    expect(isNode()).toBe(true);
    expect(hasWasmSimd()).toBe(true);
    expect(hasWasmThreads()).toBe(true);
  });
});

describe('volume layout', () => {
  it('indexes C order with the last axis fastest', () => {
    const shape: [number, number, number] = [2, 3, 4];
    expect(voxelCount(shape)).toBe(24);
    expect(flatIndex(shape, 0, 0, 1)).toBe(1);
    expect(flatIndex(shape, 0, 1, 0)).toBe(4);
    expect(flatIndex(shape, 1, 0, 0)).toBe(12);
    expect(flatIndex(shape, 1, 2, 3)).toBe(23);
  });

  it('rejects data whose length does not match the shape', () => {
    expect(() => assertShape(new Float32Array(5), [2, 3, 1], 'image t1c')).toThrow(
      'image t1c: shape [2, 3, 1] needs 6 voxels but the data has 5',
    );
    expect(() => assertShape(new Float32Array(6), [2, 3, 1])).not.toThrow();
  });
});
