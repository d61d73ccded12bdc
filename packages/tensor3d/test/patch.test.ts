import { describe, expect, it } from 'vitest';
import { extractPatch, patchStartAround, patchStartRange } from '../src/index.js';

describe('extractPatch', () => {
  const data = Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i);
  const v = { data, shape: [2, 3, 4, 5] as [number, number, number, number] };
  it('copies an interior patch exactly', () => {
    const p = extractPatch(v, [1, 1, 2], [2, 2, 2]);
    // channel 0 voxel (1,1,2) = (1*4+1)*5+2 = 27
    expect([...p.data.subarray(0, 8)]).toEqual([27, 28, 32, 33, 47, 48, 52, 53]);
    expect(p.data[8]).toBe(60 + 27);
  });
  it('fills outside the volume', () => {
    const p = extractPatch(v, [-1, 3, 4], [2, 2, 2], -5);
    // only (x=0,y=3,z=4) of the source is inside: patch (1,0,0)
    expect([...p.data.subarray(0, 8)]).toEqual([-5, -5, -5, -5, 19, -5, -5, -5]);
  });
});

describe('patch placement', () => {
  it('ranges include padding placements when the volume is small', () => {
    expect(patchStartRange(10, 4)).toEqual([0, 6]);
    expect(patchStartRange(3, 8)).toEqual([-5, 0]);
  });
  it('centres on the voxel and clamps at the border', () => {
    expect(patchStartAround([5, 0, 9], [4, 4, 4], [10, 10, 10])).toEqual([3, 0, 6]);
    expect(patchStartAround([1, 1, 1], [8, 8, 8], [3, 3, 3])).toEqual([-3, -3, -3]);
  });
});
