import { describe, expect, it } from 'vitest';
import type { Shape3 } from '@mednext-ts/tensor3d/volume';
import { groupByDilation, matchLesions, mergeEtThroughNetc, removeSmallLesions, touchingPairs } from '../src/index.js';

const idx = (s: Shape3, x: number, y: number, z: number) => (x * s[1] + y) * s[2] + z;

describe('groupByDilation', () => {
  it('joins pieces whose dilations touch (gap <= 2d voxels) and keeps farther ones apart', () => {
    const shape: Shape3 = [20, 3, 3];
    for (const [gap, expected] of [
      [6, 1],
      [7, 2],
    ]) {
      const mask = new Uint8Array(180);
      mask[idx(shape, 2, 1, 1)] = 1;
      mask[idx(shape, 3 + gap, 1, 1)] = 1;
      const map = groupByDilation(mask, shape, 3);
      expect(map.maxLabel, `gap ${gap}`).toBe(expected);
      expect(map.labels[idx(shape, 2, 1, 1)]).toBe(1);
      expect(map.labels[idx(shape, 3 + gap, 1, 1)]).toBe(expected);
      expect(map.labels.reduce((a, b) => a + (b ? 1 : 0), 0)).toBe(2); // only mask voxels are labelled
    }
  });

  it('removeSmallLesions erases groups of <= n voxels and keeps the other numbers (gaps stay)', () => {
    const shape: Shape3 = [30, 1, 1];
    const mask = new Uint8Array(30);
    mask.fill(1, 0, 3); // 3 voxels -> lesion 1
    mask.fill(1, 12, 14); // 2 voxels -> lesion 2
    mask.fill(1, 24, 30); // 6 voxels -> lesion 3
    const map = groupByDilation(mask, shape, 1);
    const sizes = removeSmallLesions(map, 2);
    expect(Array.from(sizes)).toEqual([0, 3, 0, 6]);
    expect(Array.from(map.labels.slice(10, 30))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3]);
  });
});

describe('mergeEtThroughNetc (SSA)', () => {
  // A 1-D strip: ET lesions A, B, C and NETC lesions N1, N2 laid out as A N1 B N2 C, so that
  // A-N1, B-N1, B-N2 and C-N2 touch.
  const shape: Shape3 = [1, 1, 9];
  const et = () => ({ labels: Int32Array.of(1, 0, 2, 0, 3, 0, 0, 0, 0), maxLabel: 3 });
  const netc = Int32Array.of(0, 1, 0, 2, 0, 0, 0, 0, 0);

  it('finds the touching pairs in (e, n) order', () => {
    expect(touchingPairs(et().labels, netc, shape)).toEqual([
      [1, 1],
      [2, 1],
      [2, 2],
      [3, 2],
    ]);
  });

  it('official rule: each ET lesion joins its lowest-numbered NETC lesion (A+B merge, C stays)', () => {
    const m = mergeEtThroughNetc(et(), netc, shape);
    expect(Array.from(m.labels.slice(0, 5))).toEqual([1, 0, 1, 0, 2]);
    expect(m.maxLabel).toBe(2);
  });

  it('corrected rule: transitive closure (A, B, C all merge)', () => {
    const m = mergeEtThroughNetc(et(), netc, shape, true);
    expect(Array.from(m.labels.slice(0, 5))).toEqual([1, 0, 1, 0, 1]);
    expect(m.maxLabel).toBe(1);
  });

  it('with a single touching pair nothing merges, but numbers are made consecutive', () => {
    const lone = { labels: Int32Array.of(1, 0, 0, 0, 3, 0, 0, 0, 0), maxLabel: 3 };
    const n = Int32Array.of(0, 1, 0, 0, 0, 0, 0, 0, 0);
    const m = mergeEtThroughNetc(lone, n, shape);
    expect(Array.from(m.labels.slice(0, 5))).toEqual([1, 0, 0, 0, 2]);
    expect(m.maxLabel).toBe(2);
  });
});

describe('matchLesions', () => {
  it('gives the same matches with the dilated zones as with per-lesion dilation', () => {
    const shape: Shape3 = [30, 30, 20];
    const gtMask = new Uint8Array(30 * 30 * 20);
    const predMask = new Uint8Array(gtMask.length);
    const ball = (m: Uint8Array, c: number[], r: number) => {
      for (let x = 0; x < 30; x++)
        for (let y = 0; y < 30; y++)
          for (let z = 0; z < 20; z++)
            if ((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 <= r * r) m[idx(shape, x, y, z)] = 1;
    };
    ball(gtMask, [8, 8, 8], 4);
    ball(gtMask, [22, 20, 10], 3);
    ball(gtMask, [15, 14, 9], 1); // between the two: merges with neither or one depending on dilation
    ball(predMask, [10, 9, 8], 4);
    ball(predMask, [20, 24, 12], 2);
    ball(predMask, [4, 26, 15], 2); // false positive
    const gt = groupByDilation(gtMask, shape, 3);
    const pred = groupByDilation(predMask, shape, 3);
    const withZones = matchLesions(gt, pred, shape, [1, 1, 1], 3);
    const withoutZones = matchLesions({ labels: gt.labels, maxLabel: gt.maxLabel }, pred, shape, [1, 1, 1], 3);
    expect(withZones).toEqual(withoutZones);
    expect(withZones.falsePositives.length).toBeGreaterThan(0);
    expect(withZones.lesions.some((l) => l.matched.length > 0 && l.dice > 0 && l.dice < 1)).toBe(true);
  });
});
