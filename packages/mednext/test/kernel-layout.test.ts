import { describe, expect, it } from 'vitest';
import { blockWeightsFromTorch } from '../src/weights/kernel-layout.js';

/** 0, 1, 2, ... as float32. */
const ramp = (n: number, from = 0): Float32Array => Float32Array.from({ length: n }, (_, i) => from + i);

describe('blockWeightsFromTorch', () => {
  const [c, e, cout, k] = [4, 8, 12, 3];
  const params = {
    conv1Weight: ramp(c * 27),
    conv1Bias: ramp(c, 1000),
    normWeight: ramp(c, 2000),
    normBias: ramp(c, 3000),
    conv2Weight: ramp(e * c),
    conv2Bias: ramp(e, 4000),
    conv3Weight: ramp(cout * e),
    conv3Bias: ramp(cout, 5000),
  };

  it('moves the channel axis last: filter [C, k^3] -> [k^3, C], expand [E, C] -> [C, E], compress [Cout, E] -> [E, Cout]', () => {
    const w = blockWeightsFromTorch(params, k);
    expect(w.k).toBe(3);
    // conv1.weight[ch, 0, t] = ch * 27 + t lands at dwFilter[t * C + ch]
    for (const [ch, t] of [
      [0, 0],
      [3, 26],
      [2, 13],
    ])
      expect(w.dwFilter[t * c + ch]).toBe(ch * 27 + t);
    // conv2.weight[o, i] = o * C + i lands at w2[i * E + o]
    expect(w.w2[3 * e + 5]).toBe(5 * c + 3);
    // conv3.weight[o, i] = o * E + i lands at w3[i * Cout + o]
    expect(w.w3[7 * cout + 11]).toBe(11 * e + 7);
    expect([w.dwBias[0], w.gamma[1], w.beta[2], w.b2[7], w.b3[11]]).toEqual([1000, 2001, 3002, 4007, 5011]);
  });

  it('names the parameter whose size does not fit', () => {
    expect(() => blockWeightsFromTorch({ ...params, conv1Weight: ramp(c * 27 - 1) }, k)).toThrow(
      'blockWeightsFromTorch: conv1.weight is not [4, 1, 3, 3, 3]',
    );
    expect(() => blockWeightsFromTorch({ ...params, conv2Weight: ramp(e * c + 4) }, k)).toThrow(
      'conv2.weight is not [8, 4, 1, 1, 1]',
    );
    expect(() => blockWeightsFromTorch({ ...params, conv3Weight: ramp(3) }, k)).toThrow(
      'conv3.weight is not [12, 8, 1, 1, 1]',
    );
    expect(() => blockWeightsFromTorch(params, 5)).toThrow('conv1.weight is not [4, 1, 5, 5, 5]');
  });
});
