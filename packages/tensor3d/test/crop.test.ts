import { describe, expect, it } from 'vitest';
import { cropChannels, cropVolume, nonZeroBoundingBox, uncropVolume, type Volume } from '../src/index.js';

function vol(shape: [number, number, number], set: [number, number, number, number][]): Volume {
  const data = new Float32Array(shape[0] * shape[1] * shape[2]);
  for (const [x, y, z, v] of set) data[(x * shape[1] + y) * shape[2] + z] = v;
  return { data, shape };
}

describe('nonZeroBoundingBox', () => {
  it('is the union of the non-zero voxels of all modalities', () => {
    const a = vol([5, 6, 7], [[1, 2, 3, 1]]);
    const b = vol(
      [5, 6, 7],
      [
        [3, 4, 5, -2],
        [2, 1, 4, 0.5],
      ],
    );
    expect(nonZeroBoundingBox([a, b])).toEqual({ start: [1, 1, 3], end: [4, 5, 6] });
    expect(nonZeroBoundingBox([a])).toEqual({ start: [1, 2, 3], end: [2, 3, 4] });
  });
  it('returns null for an empty image and rejects mismatched shapes', () => {
    expect(nonZeroBoundingBox([vol([2, 2, 2], [])])).toBeNull();
    expect(() => nonZeroBoundingBox([vol([2, 2, 2], []), vol([2, 2, 3], [])])).toThrow(/volume 1 has shape/);
  });
});

describe('crop / uncrop', () => {
  it('crops the exact voxels and uncrop restores them in place', () => {
    const shape: [number, number, number] = [4, 5, 6];
    const data = Float32Array.from({ length: 120 }, (_, i) => i);
    const box = { start: [1, 2, 3] as [number, number, number], end: [3, 4, 6] as [number, number, number] };
    const c = cropVolume({ data, shape }, box);
    expect(c.shape).toEqual([2, 2, 3]);
    // voxel (1,2,3) = (1*5+2)*6+3 = 45; (2,3,5) = (2*5+3)*6+5 = 83
    expect(c.data[0]).toBe(45);
    expect(c.data[11]).toBe(83);
    const u = uncropVolume(c, box, shape, -1);
    for (let x = 0; x < 4; x++)
      for (let y = 0; y < 5; y++)
        for (let z = 0; z < 6; z++) {
          const i = (x * 5 + y) * 6 + z;
          const inside = x >= 1 && x < 3 && y >= 2 && y < 4 && z >= 3;
          expect(u.data[i]).toBe(inside ? i : -1);
        }
  });
  it('crops every channel of a channel volume and keeps the array type', () => {
    const data = Uint8Array.from({ length: 2 * 8 }, (_, i) => i);
    const c = cropChannels({ data, shape: [2, 2, 2, 2] }, { start: [1, 0, 1], end: [2, 2, 2] });
    expect(c.data).toBeInstanceOf(Uint8Array);
    expect(c.shape).toEqual([2, 1, 2, 1]);
    expect([...c.data]).toEqual([5, 7, 13, 15]);
  });
  it('names the problem when the box does not fit', () => {
    expect(() => cropVolume(vol([2, 2, 2], []), { start: [0, 0, 0], end: [3, 1, 1] })).toThrow(/axis 0/);
  });
});
