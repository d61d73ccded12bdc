import { describe, expect, it } from 'vitest';
import {
  slidingWindowInference,
  windowOrigins,
  windowStarts,
  type PatchPredictor,
} from '../src/volume/sliding-window.js';
import type { ChannelVolume, Shape3 } from '../src/volume/volume.js';

function randomVolume(shape: [number, number, number, number], seed = 1): ChannelVolume {
  let s = seed;
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    data[i] = s / 2 ** 31 - 0.5;
  }
  return { data, shape };
}

/** The identity model: returns its windows unchanged (one output channel per input channel). */
const identity: PatchPredictor = (patches) => patches.slice();

describe('windowStarts', () => {
  it('matches nnU-Net compute_steps_for_sliding_window', () => {
    // 240 with patch 128 at step 0.5: ceil(112/64)+1 = 3 windows, spacing 56
    expect(windowStarts(240, 128, 0.5)).toEqual([0, 56, 112]);
    // 155 with patch 112, step 0.5: ceil(43/56)+1 = 2
    expect(windowStarts(155, 112, 0.5)).toEqual([0, 43]);
    // overlap 0.7 -> step 0.3 x 128 = 38.4: ceil(112/38.4)+1 = 4 windows, spacing 37.33
    expect(windowStarts(240, 128, 0.7)).toEqual([0, 37, 75, 112]);
    expect(windowStarts(128, 128)).toEqual([0]);
    // half-to-even rounding: size 13, patch 4, overlap 0.5 -> 6 windows spaced 1.8
    expect(windowStarts(13, 4, 0.5)).toEqual([0, 2, 4, 5, 7, 9]);
    // 5 windows spaced 0.5 -> np.round gives 0, 0, 1, 2, 2 (half to even)
    expect(windowStarts(4, 2, 0.75)).toEqual([0, 0, 1, 2, 2]);
  });

  it('centres an image smaller than the window', () => {
    expect(windowStarts(5, 8)).toEqual([-1]);
    expect(windowStarts(4, 8)).toEqual([-2]);
  });

  it('covers the image', () => {
    const origins = windowOrigins([37, 20, 9], [16, 16, 16], 0.5);
    const covered = new Uint8Array(37 * 20 * 9);
    for (const [ox, oy, oz] of origins)
      for (let x = Math.max(0, ox); x < Math.min(37, ox + 16); x++)
        for (let y = Math.max(0, oy); y < Math.min(20, oy + 16); y++)
          for (let z = Math.max(0, oz); z < Math.min(9, oz + 16); z++) covered[(x * 20 + y) * 9 + z] = 1;
    expect(covered.every((v) => v === 1)).toBe(true);
  });
});

describe('slidingWindowInference', () => {
  it('an identity model on a window-sized image reproduces the input exactly', async () => {
    const input = randomVolume([2, 8, 6, 4]);
    for (const blend of ['gaussian', 'constant'] as const) {
      const out = await slidingWindowInference(input, identity, { patchSize: [8, 6, 4], outChannels: 2, blend });
      expect(out.shape).toEqual([2, 8, 6, 4]);
      expect(out.data).toEqual(input.data);
    }
  });

  it('an identity model reproduces odd-sized inputs with many overlapping windows, batched', async () => {
    const input = randomVolume([3, 23, 17, 11], 7);
    for (const [blend, overlap, batchSize] of [
      ['gaussian', 0.5, 1],
      ['constant', 0.7, 4],
      ['gaussian', 0.3, 5],
    ] as const) {
      let calls = 0;
      let lastProgress = [0, 0];
      const out = await slidingWindowInference(
        input,
        (p, n) => {
          calls++;
          expect(n).toBeLessThanOrEqual(batchSize);
          return identity(p, n);
        },
        {
          patchSize: [8, 7, 5],
          outChannels: 3,
          blend,
          overlap,
          batchSize,
          onProgress: (d, t) => (lastProgress = [d, t]),
        },
      );
      const total = windowOrigins([23, 17, 11], [8, 7, 5], overlap).length;
      expect(lastProgress).toEqual([total, total]);
      expect(calls).toBe(Math.ceil(total / batchSize));
      let maxErr = 0;
      for (let i = 0; i < input.data.length; i++) maxErr = Math.max(maxErr, Math.abs(out.data[i]! - input.data[i]!));
      expect(maxErr).toBeLessThan(1e-6);
    }
  });

  it('pads an image smaller than the window and crops the padding away', async () => {
    const input = randomVolume([1, 5, 3, 9], 3);
    const seen: number[] = [];
    const out = await slidingWindowInference(
      input,
      (p, n) => {
        seen.push(...p);
        return identity(p, n);
      },
      { patchSize: [8, 8, 8], outChannels: 1, padValue: -9 },
    );
    // shape 5 -> pad 3 (1 before), 3 -> pad 5 (2 before), 9 >= 8 -> two windows along z
    expect(seen.length).toBe(2 * 512);
    expect(seen[0]).toBe(-9);
    // voxel (0,0,0) of the image sits at (1, 2, 0) of the first window
    expect(seen[(1 * 8 + 2) * 8 + 0]).toBe(input.data[0]);
    expect(out.shape).toEqual([1, 5, 3, 9]);
    let maxErr = 0;
    for (let i = 0; i < input.data.length; i++) maxErr = Math.max(maxErr, Math.abs(out.data[i]! - input.data[i]!));
    expect(maxErr).toBeLessThan(1e-6);
  });

  it('weights windows by the Gaussian: a voxel covered by two constant windows gets their weighted mean', async () => {
    // 1-D along z: size 12, patch 8, overlap 0.5 -> windows at 0 and 4; window k predicts the constant k+1
    const input: ChannelVolume = { data: new Float32Array(12), shape: [1, 1, 1, 12] };
    let k = 0;
    const predict: PatchPredictor = (_p, n) => new Float32Array(8 * n).fill(++k);
    const out = await slidingWindowInference(input, predict, { patchSize: [1, 1, 8], outChannels: 1 });
    // z = 5: offset 5 in window 1 (centre 4, sigma 1), offset 1 in window 2
    const g = (d: number) => Math.exp(-(d * d) / 2);
    const expected = (g(1) * 1 + g(3) * 2) / (g(1) + g(3));
    expect(out.data[5]).toBeCloseTo(expected, 5);
    expect(out.data[0]).toBeCloseTo(1, 6);
    expect(out.data[11]).toBeCloseTo(2, 6);
    k = 0;
    const flat = await slidingWindowInference(input, predict, {
      patchSize: [1, 1, 8],
      outChannels: 1,
      blend: 'constant',
    });
    expect(flat.data[5]).toBeCloseTo(1.5, 6);
  });

  it('maps input channels to a different number of output channels and checks the predictor', async () => {
    const input = randomVolume([2, 6, 6, 6], 5);
    const sumModel: PatchPredictor = (p, n) => {
      const v = 4 * 4 * 4;
      const o = new Float32Array(n * 3 * v);
      for (let b = 0; b < n; b++)
        for (let i = 0; i < v; i++) {
          const s = p[b * 2 * v + i]! + p[b * 2 * v + v + i]!;
          o[b * 3 * v + i] = s;
          o[b * 3 * v + v + i] = 2 * s;
          o[b * 3 * v + 2 * v + i] = -s;
        }
      return o;
    };
    const out = await slidingWindowInference(input, sumModel, {
      patchSize: [4, 4, 4] as Shape3,
      outChannels: 3,
      batchSize: 3,
    });
    const n = 216;
    for (const i of [0, 37, 215]) {
      const s = input.data[i]! + input.data[n + i]!;
      expect(out.data[i]).toBeCloseTo(s, 5);
      expect(out.data[n + i]).toBeCloseTo(2 * s, 5);
      expect(out.data[2 * n + i]).toBeCloseTo(-s, 5);
    }
    await expect(
      slidingWindowInference(input, () => new Float32Array(3), { patchSize: [4, 4, 4], outChannels: 3 }),
    ).rejects.toThrow(/predict returned 3 values/);
  });
});
