import { describe, expect, it } from 'vitest';
import {
  Random,
  addGaussianNoise,
  adjustContrast,
  adjustGamma,
  flipChannels,
  gaussianBlur,
  gaussianKernel1d,
  rotationScaleMatrix,
  scaleShiftIntensity,
  simulateLowResolution,
  transformPatch,
  type ChannelVolume,
} from '../src/index.js';

const ramp = (shape: [number, number, number, number]): ChannelVolume => ({
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => i),
  shape,
});

describe('Random', () => {
  it('is reproducible, resumable and uniform enough', () => {
    const a = new Random(42);
    const b = new Random(42);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(new Random(43).nextUint32()).not.toBe(xs[0]);
    const state = a.getState();
    const next = [a.next(), a.int(0, 9), a.normal()];
    const c = Random.fromState(state);
    expect([c.next(), c.int(0, 9), c.normal()]).toEqual(next);
    const r = new Random(7);
    let sum = 0;
    let sq = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const g = r.normal();
      sum += g;
      sq += g * g;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.04);
    const counts = new Array(4).fill(0);
    for (let i = 0; i < 8000; i++) counts[r.int(0, 3)]++;
    for (const c2 of counts) expect(Math.abs(c2 - 2000)).toBeLessThan(150);
  });
});

describe('flip and intensity', () => {
  it('flips the requested axes', () => {
    const v = ramp([1, 2, 2, 2]);
    expect([...flipChannels(v, [true, false, false]).data]).toEqual([4, 5, 6, 7, 0, 1, 2, 3]);
    expect([...flipChannels(v, [false, false, true]).data]).toEqual([1, 0, 3, 2, 5, 4, 7, 6]);
    expect([...flipChannels(v, [true, true, true]).data]).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
  });
  it('scales and shifts only the channel given', () => {
    const v = ramp([2, 1, 1, 2]);
    scaleShiftIntensity(v, 1, 2, 0.5);
    expect([...v.data]).toEqual([0, 1, 4.5, 6.5]);
  });
  it('contrast keeps the mean and the range', () => {
    const v: ChannelVolume = { data: new Float32Array([0, 1, 2, 5]), shape: [1, 1, 2, 2] };
    adjustContrast(v, 0, 2);
    // mean 2: (0-2)*2+2 = -2 -> clip 0; 0; 2; 8 -> clip 5
    expect([...v.data]).toEqual([0, 0, 2, 5]);
  });
  it('noise has the requested standard deviation', () => {
    const v: ChannelVolume = { data: new Float32Array(8000), shape: [1, 20, 20, 20] };
    addGaussianNoise(v, 0, 0.3, new Random(1));
    const m = v.data.reduce((a, b) => a + b, 0) / 8000;
    const s = Math.sqrt(v.data.reduce((a, b) => a + (b - m) ** 2, 0) / 8000);
    expect(s).toBeGreaterThan(0.28);
    expect(s).toBeLessThan(0.32);
  });
  it('gamma 1 is the identity; gamma 2 on [0,1] squares; retainStats restores mean/std', () => {
    const v: ChannelVolume = { data: new Float32Array([0, 0.5, 1, 0.25]), shape: [1, 1, 2, 2] };
    adjustGamma(v, 0, 2);
    [0, 0.25, 1, 0.0625].forEach((e, i) => expect(v.data[i]).toBeCloseTo(e, 5));
    const w: ChannelVolume = { data: new Float32Array([1, 2, 3, 7]), shape: [1, 1, 2, 2] };
    adjustGamma(w, 0, 0.5, { retainStats: true, invert: true });
    const m = w.data.reduce((a, b) => a + b) / 4;
    const s = Math.sqrt(w.data.reduce((a, b) => a + (b - m) ** 2, 0) / 4);
    expect(m).toBeCloseTo(3.25, 4);
    expect(s).toBeCloseTo(Math.sqrt(((1 - 3.25) ** 2 + (2 - 3.25) ** 2 + (3 - 3.25) ** 2 + (7 - 3.25) ** 2) / 4), 4);
    expect(w.data[0]).not.toBeCloseTo(1, 2);
  });
});

describe('blur and low resolution', () => {
  it('kernel sums to 1 and is symmetric; blur keeps constants and spreads an impulse', () => {
    const k = gaussianKernel1d(1);
    expect(k.length).toBe(9);
    expect(k.reduce((a, b) => a + b)).toBeCloseTo(1, 12);
    expect(k[0]).toBeCloseTo(k[8]!, 15);
    const c: ChannelVolume = { data: new Float32Array(125).fill(3), shape: [1, 5, 5, 5] };
    gaussianBlur(c, 0, [1, 1, 1]);
    for (const v of c.data) expect(v).toBeCloseTo(3, 5);
    const imp: ChannelVolume = { data: new Float32Array(11 * 3 * 3), shape: [1, 11, 3, 3] };
    imp.data[(5 * 3 + 1) * 3 + 1] = 1;
    gaussianBlur(imp, 0, [1, 0, 0]);
    // along x the impulse becomes the kernel; the reflected tails never reach x = 0 or 10
    for (let x = 1; x < 10; x++) expect(imp.data[(x * 3 + 1) * 3 + 1]).toBeCloseTo(k[x - 1]!, 6);
    expect(imp.data[(0 * 3 + 1) * 3 + 1]).toBe(0);
    expect(imp.data.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
  });
  it('low resolution keeps constants and a linear ramp stays monotone', () => {
    const v = ramp([1, 1, 1, 16]);
    simulateLowResolution(v, 0, 0.5);
    // nearest down picks 1,3,5,...,15; voxel x reads low position x/2 - 1/4 (clamped)
    expect(v.data[0]).toBeCloseTo(1, 5);
    expect(v.data[1]).toBeCloseTo(1.5, 5);
    expect(v.data[2]).toBeCloseTo(2.5, 5);
    expect(v.data[15]).toBeCloseTo(15, 5);
    for (let i = 1; i < 16; i++) expect(v.data[i]!).toBeGreaterThanOrEqual(v.data[i - 1]!);
  });
});

describe('transformPatch', () => {
  it('identity with an aligned centre is a crop', () => {
    const v = ramp([1, 4, 4, 4]);
    const p = transformPatch(v, [1.5, 1.5, 1.5], [2, 2, 2], rotationScaleMatrix([0, 0, 0]), 'linear');
    expect([...p.data]).toEqual([21, 22, 25, 26, 37, 38, 41, 42]);
  });
  it('rotating 90 degrees about z maps y to x', () => {
    const m = rotationScaleMatrix([0, 0, Math.PI / 2]);
    [0, -1, 0, 1, 0, 0, 0, 0, 1].forEach((e, i) => expect(m[i]).toBeCloseTo(e, 12));
    const labels = {
      data: Uint8Array.from({ length: 27 }, (_, i) => i),
      shape: [1, 3, 3, 3] as [number, number, number, number],
    };
    const p = transformPatch(labels, [1, 1, 1], [3, 3, 3], m, 'nearest', 255);
    // output (i,j,k) reads source (1 - (j-1), 1 + (i-1), k) = (2-j, i, k)
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        for (let k = 0; k < 3; k++) expect(p.data[(i * 3 + j) * 3 + k]).toBe(((2 - j) * 3 + i) * 3 + k);
    expect(p.data).toBeInstanceOf(Uint8Array);
  });
  it('scaling samples a larger region and reads fill outside', () => {
    const v = ramp([1, 1, 1, 8]);
    const p = transformPatch(v, [0, 0, 3.5], [1, 1, 4], rotationScaleMatrix([0, 0, 0], 2), 'linear', -1);
    // positions 3.5 + 2*(k - 1.5) = 0.5, 2.5, 4.5, 6.5
    expect([...p.data]).toEqual([0.5, 2.5, 4.5, 6.5]);
    const q = transformPatch(v, [0, 0, 7], [1, 1, 2], rotationScaleMatrix([0, 0, 0], 2), 'linear', -1);
    expect([...q.data]).toEqual([6, -1]);
  });
});
