import { describe, expect, it } from 'vitest';
import { labelConnectedComponents, labelSizes, nonZeroIndices } from '../src/volume/connected-components.js';
import type { Shape3 } from '../src/volume/volume.js';
import { forEachNeighbour, forEachVoxel, randomMask } from './volume-test-utils.js';

/** Flood-fill reference: components numbered by their first voxel in C order. */
function floodFill(mask: Uint8Array, shape: Shape3, connectivity: number): { labels: Int32Array; count: number } {
  const labels = new Int32Array(mask.length);
  let count = 0;
  forEachVoxel(shape, (x, y, z, i) => {
    if (!mask[i] || labels[i]) return;
    labels[i] = ++count;
    const stack = [[x, y, z]];
    while (stack.length) {
      const [cx, cy, cz] = stack.pop()!;
      forEachNeighbour(shape, cx!, cy!, cz!, connectivity, (j, xx, yy, zz) => {
        if (mask[j] && !labels[j]) {
          labels[j] = count;
          stack.push([xx, yy, zz]);
        }
      });
    }
  });
  return { labels, count };
}

describe('labelConnectedComponents', () => {
  it.each([6, 18, 26] as const)('matches a flood fill on random masks (connectivity %i)', (c) => {
    for (const [seed, p] of [
      [1, 0.05],
      [2, 0.1],
      [3, 0.18],
    ]) {
      const shape: Shape3 = [9, 11, 13];
      const mask = randomMask(shape, p, seed * 10 + c);
      const got = labelConnectedComponents(mask, shape, c);
      const want = floodFill(mask, shape, c);
      expect(got.count).toBe(want.count);
      expect(got.count).toBeGreaterThan(1);
      expect(Array.from(got.labels)).toEqual(Array.from(want.labels));
    }
  });

  it('numbers components by their first voxel in C order (last axis fastest)', () => {
    // Two blobs: one starting at (0, 3, 0) and one at (1, 0, 0). In C order (x slowest) the first
    // blob comes first although its y is larger.
    const shape: Shape3 = [3, 5, 2];
    const mask = new Uint8Array(30);
    mask[(0 * 5 + 3) * 2 + 0] = 1;
    mask[(1 * 5 + 0) * 2 + 0] = 1;
    const { labels, count } = labelConnectedComponents(mask, shape);
    expect(count).toBe(2);
    expect(labels[(0 * 5 + 3) * 2]).toBe(1);
    expect(labels[(1 * 5 + 0) * 2]).toBe(2);
  });

  it('joins corner neighbours only with 26-connectivity, edges with 18', () => {
    const shape: Shape3 = [2, 2, 2];
    const corner = new Uint8Array(8);
    corner[0] = 1;
    corner[7] = 1;
    expect(labelConnectedComponents(corner, shape, 26).count).toBe(1);
    expect(labelConnectedComponents(corner, shape, 18).count).toBe(2);
    const edge = new Uint8Array(8);
    edge[0] = 1;
    edge[3] = 1; // (0,1,1)
    expect(labelConnectedComponents(edge, shape, 18).count).toBe(1);
    expect(labelConnectedComponents(edge, shape, 6).count).toBe(2);
  });

  it('handles a U shape whose arms meet late (label merging)', () => {
    const shape: Shape3 = [1, 5, 5];
    const m = new Uint8Array(25);
    for (let y = 0; y < 5; y++) {
      m[y * 5 + 0] = 1;
      m[y * 5 + 4] = 1;
    }
    for (let z = 0; z < 5; z++) m[4 * 5 + z] = 1;
    const { labels, count } = labelConnectedComponents(m, shape, 6);
    expect(count).toBe(1);
    expect(Array.from(labelSizes(labels, count))).toEqual([25 - 13, 13]);
  });

  it('rejects bad input with a clear message', () => {
    expect(() => labelConnectedComponents(new Uint8Array(7), [2, 2, 2])).toThrow(/needs 8 voxels/);
    expect(() => labelConnectedComponents(new Uint8Array(8), [2, 2, 2], 8 as never)).toThrow(/6, 18 or 26/);
  });
});

describe('nonZeroIndices', () => {
  it('lists non-zero positions for aligned and unaligned byte masks and other arrays', () => {
    const base = randomMask([1, 1, 203], 0.05, 9);
    const want = Array.from(base.keys()).filter((i) => base[i] !== 0);
    expect(want.length).toBeGreaterThan(3);
    expect(Array.from(nonZeroIndices(base))).toEqual(want);
    // A view at byte offset 3 takes the plain path; same answer.
    const buf = new Uint8Array(206);
    buf.set(base, 3);
    expect(Array.from(nonZeroIndices(buf.subarray(3)))).toEqual(want);
    expect(Array.from(nonZeroIndices(Float32Array.from(base)))).toEqual(want);
    expect(nonZeroIndices(new Uint8Array(64)).length).toBe(0);
  });
});
