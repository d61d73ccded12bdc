import { describe, expect, it } from 'vitest';
import { ExactSum, computeStats, float64LittleEndianBytes } from '../src/index.js';

describe('exact sum', () => {
  it('is exactly rounded where a naive loop is not', () => {
    const values = [1e100, 1, -1e100, 1e-3, 0.1, 0.2, 0.3];
    let naive = 0;
    for (const v of values) naive += v;
    const acc = new ExactSum();
    values.forEach((v) => acc.add(v));
    expect(naive).not.toBe(1.601);
    expect(acc.value()).toBe(1.601); // Python: math.fsum([...]) == 1.601
    const tenths = new ExactSum();
    for (let i = 0; i < 10; i++) tenths.add(0.1);
    expect(tenths.value()).toBe(1);
  });

  it('computeStats skips non-finite values for min/max/sum and counts them', () => {
    const s = computeStats(new Float64Array([NaN, Infinity, -Infinity, -0, 2.5, -1, 0]));
    expect(s).toMatchObject({ count: 7, finite: 4, nan: 1, infinite: 2, nonZero: 4, min: -1, max: 2.5, sum: 1.5 });
    expect(s.mean).toBe(1.5 / 4);
  });

  it('writes NaN as the canonical float64 quiet NaN', () => {
    const f32 = new Float32Array(1);
    new Uint32Array(f32.buffer)[0] = 0x7fc00001; // a NaN with payload
    const bytes = float64LittleEndianBytes(Float64Array.from(f32));
    expect(Array.from(bytes)).toEqual([0, 0, 0, 0, 0, 0, 0xf8, 0x7f]);
  });
});
