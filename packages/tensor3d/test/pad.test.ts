import { describe, expect, it } from 'vitest';
import { padChannels } from '../src/index.js';

describe('padChannels', () => {
  it('pads each too-small axis evenly (extra voxel after) and records the offset', () => {
    const data = Float32Array.from({ length: 2 * 1 * 2 * 3 }, (_, i) => i + 1);
    const { volume, offset } = padChannels({ data, shape: [2, 1, 2, 3] }, [4, 1, 2], -1);
    expect(volume.shape).toEqual([2, 4, 2, 3]);
    expect(offset).toEqual([1, 0, 0]);
    const per = 4 * 2 * 3;
    // channel 1, padded x = 1 holds original x = 0
    expect([...volume.data.subarray(per + 6, per + 12)]).toEqual([7, 8, 9, 10, 11, 12]);
    expect(volume.data[0]).toBe(-1);
    expect(volume.data[per - 1]).toBe(-1);
  });
  it('returns the input when it is already large enough', () => {
    const v = { data: new Float32Array(8), shape: [1, 2, 2, 2] as [number, number, number, number] };
    expect(padChannels(v, [1, 2, 2]).volume).toBe(v);
  });
});
