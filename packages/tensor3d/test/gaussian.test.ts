import { describe, expect, it } from 'vitest';
import { gaussianImportanceMap } from '../src/volume/gaussian.js';

describe('gaussianImportanceMap', () => {
  it('peaks at 1 in voxel floor(n/2) and follows exp(-d^2 / (2 sigma^2)) with sigma = n/8', () => {
    const shape: [number, number, number] = [16, 8, 5];
    const map = gaussianImportanceMap(shape);
    const at = (x: number, y: number, z: number) => map[(x * 8 + y) * 5 + z]!;
    expect(at(8, 4, 2)).toBe(1);
    let max = 0;
    for (const v of map) max = Math.max(max, v);
    expect(max).toBe(1);
    // one step along x from the centre: sigma = 2 -> exp(-1/8)
    expect(at(9, 4, 2)).toBeCloseTo(Math.exp(-1 / 8), 6);
    // corner (0, 0, 0): distances 8, 4, 2 with sigmas 2, 1, 0.625
    const corner = Math.exp(-64 / 8) * Math.exp(-16 / 2) * Math.exp(-4 / (2 * 0.625 ** 2));
    expect(at(0, 0, 0) / corner).toBeCloseTo(1, 4);
    expect(at(0, 0, 0)).toBeGreaterThan(0);
  });

  it('is separable and symmetric about the centre on odd axes', () => {
    const map = gaussianImportanceMap([7, 7, 7], { sigmaScale: 0.25 });
    const at = (x: number, y: number, z: number) => map[(x * 7 + y) * 7 + z]!;
    expect(at(1, 3, 3)).toBeCloseTo(at(5, 3, 3), 7);
    expect(at(1, 2, 3)).toBeCloseTo(at(1, 3, 3) * at(3, 2, 3), 7);
  });

  it('rejects bad arguments', () => {
    expect(() => gaussianImportanceMap([4, 0, 4])).toThrow(/patch shape/);
    expect(() => gaussianImportanceMap([4, 4, 4], { sigmaScale: 0 })).toThrow(/sigmaScale/);
  });
});
