import { describe, expect, it } from 'vitest';
import { zscoreNonZero } from '../src/index.js';

describe('zscoreNonZero', () => {
  it('uses only the non-zero voxels and leaves background at 0', () => {
    const data = new Float32Array([0, 2, 4, 0, 6, 0, 8, 0]);
    const r = zscoreNonZero({ data, shape: [2, 2, 2] });
    expect(r.count).toBe(4);
    expect(r.mean).toBe(5);
    expect(r.std).toBeCloseTo(Math.sqrt(5), 12);
    const s = Math.sqrt(5);
    const expected = [0, -3 / s, -1 / s, 0, 1 / s, 0, 3 / s, 0];
    r.volume.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
  });
  it('honours an explicit mask (zeros inside it count)', () => {
    const data = new Int16Array([0, 2, 4, 10]);
    const r = zscoreNonZero({ data, shape: [1, 2, 2] }, new Uint8Array([1, 1, 1, 0]));
    expect(r.mean).toBe(2);
    expect(r.volume.data[3]).toBe(0);
    expect(r.volume.data[0]).toBeCloseTo(-2 / Math.sqrt(8 / 3), 6);
  });
  it('a constant foreground does not divide by zero', () => {
    const r = zscoreNonZero({ data: new Float32Array([3, 3, 0, 0]), shape: [1, 2, 2] });
    expect([...r.volume.data]).toEqual([0, 0, 0, 0]);
  });
});
