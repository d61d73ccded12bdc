import { describe, expect, it } from 'vitest';
import { Random, type Volume } from '@mednext-ts/tensor3d';
import {
  DEFAULT_AUGMENTATION,
  NO_AUGMENTATION,
  checkLabels,
  checkSplits,
  decodeNpy,
  encodeNpy,
  foregroundIndex,
  labelsToRegions,
  makeFolds,
  samplePatch,
  toChannelsLast,
  validationPatch,
  type TrainingCase,
} from '../src/data/index.js';
import { smallSsaTask } from './helpers/ssa-task.js';

const ssaLike = smallSsaTask();

describe('region targets', () => {
  it('SSA labels 0..3 become WT/TC/ET channels in task order', () => {
    const r = labelsToRegions(new Uint8Array([0, 1, 2, 3]), ssaLike.regions);
    expect([...r]).toEqual([0, 1, 1, 1, /* TC */ 0, 1, 0, 1, /* ET */ 0, 0, 0, 1]);
  });
  it('PED order ET, TC, WT (+CC) follows the region list', () => {
    const regions = [
      { name: 'ET', labels: [1], threshold: 0.5, minSize: 0 },
      { name: 'TC', labels: [1, 2, 3], threshold: 0.5, minSize: 0 },
      { name: 'WT', labels: [1, 2, 3, 4], threshold: 0.5, minSize: 0 },
      { name: 'CC', labels: [3], threshold: 0.5, minSize: 0 },
    ];
    const r = labelsToRegions(new Uint8Array([4, 3]), regions);
    expect([...r]).toEqual([0, 0, 0, 1, 1, 1, 0, 1]);
  });
  it('unknown label values are reported with the task', () => {
    expect(checkLabels(new Uint8Array([0, 3, 1, 3]), ssaLike, 'x')).toEqual([1, 3]);
    expect(() => checkLabels(new Uint8Array([0, 4]), ssaLike, 'case A')).toThrow(
      /case A: label value\(s\) 4 .*wrong --task/,
    );
  });
});

describe('folds', () => {
  const cases = [
    ...Array.from({ length: 20 }, (_, i) => ({ id: `GLI-${String(i).padStart(3, '0')}`, source: 'glioma' })),
    ...Array.from({ length: 7 }, (_, i) => ({ id: `SSA-${i}`, source: 'ssa' })),
  ];
  it('is a partition, deterministic, order-independent and stratified', () => {
    const a = makeFolds(cases, 5, 12345);
    const b = makeFolds([...cases].reverse(), 5, 12345);
    expect(b).toEqual(a);
    const allVal = a.folds.flatMap((f) => f.val).sort();
    expect(allVal).toEqual(cases.map((c) => c.id).sort());
    for (const f of a.folds) {
      expect(f.train.length + f.val.length).toBe(27);
      expect(f.train.filter((id) => f.val.includes(id))).toEqual([]);
      const ssa = f.val.filter((id) => id.startsWith('SSA')).length;
      expect(ssa === 1 || ssa === 2).toBe(true);
      expect(f.val.length === 5 || f.val.length === 6).toBe(true);
    }
    // 20 glioma: exactly 4 per fold
    for (const f of a.folds) expect(f.val.filter((id) => id.startsWith('GLI')).length).toBe(4);
    expect(makeFolds(cases, 5, 1)).not.toEqual(a);
    expect(checkSplits(JSON.parse(JSON.stringify(a)), 'splits.json')).toEqual(a);
    expect(() =>
      checkSplits(
        {
          folds: [
            { train: ['a'], val: ['a'] },
            { train: [], val: [] },
          ],
        },
        'f.json',
      ),
    ).toThrow(/fold 0 has case\(s\) in both/);
  });
});

describe('npy cache encoding', () => {
  it('round trips float32 and uint8 with a 64-byte aligned header', () => {
    const f = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
    const bytes = encodeNpy(f, [2, 3, 4]);
    expect((bytes.length - f.byteLength) % 64).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(10, 70));
    expect(header).toContain("'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4)");
    const d = decodeNpy(bytes, 'x.npy');
    expect(d.shape).toEqual([2, 3, 4]);
    expect([...d.data]).toEqual([...f]);
    const u = decodeNpy(encodeNpy(new Uint8Array([1, 2, 3]), [3]), 'y.npy');
    expect(u.data).toBeInstanceOf(Uint8Array);
    expect([...u.data]).toEqual([1, 2, 3]);
    expect(() => decodeNpy(bytes.subarray(0, 100), 'z.npy')).toThrow(/z.npy: truncated/);
  });
});

function blobCase(): TrainingCase {
  const shape: [number, number, number] = [20, 18, 16];
  const n = 20 * 18 * 16;
  const labels = new Uint8Array(n);
  const image = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) image[i] = i;
  // a 2x2x2 lesion of label 3 at (15..16, 3..4, 12..13) and a single voxel of label 1 at (2, 2, 2)
  for (let x = 15; x < 17; x++)
    for (let y = 3; y < 5; y++) for (let z = 12; z < 14; z++) labels[(x * 18 + y) * 16 + z] = 3;
  labels[(2 * 18 + 2) * 16 + 2] = 1;
  const lv: Volume<Uint8Array> = { data: labels, shape };
  return { id: 'c', source: 's', image: { data: image, shape: [2, ...shape] }, labels: lv };
}

describe('patch sampling', () => {
  const c = blobCase();
  const fg = foregroundIndex(c.labels);
  it('indexes every foreground voxel by label (capped, evenly spread)', () => {
    expect([...fg.keys()]).toEqual([1, 3]);
    expect([...fg.get(1)!]).toEqual([(2 * 18 + 2) * 16 + 2]);
    expect(fg.get(3)!.length).toBe(8);
    const capped = foregroundIndex(c.labels, 3).get(3)!;
    expect([...capped]).toEqual([0, 2, 5].map((k) => fg.get(3)![k]!));
  });
  it('forced-foreground patches contain foreground and match a plain crop', () => {
    const rng = new Random(3);
    for (let t = 0; t < 20; t++) {
      const s = samplePatch(c, fg, rng, {
        patchSize: [8, 8, 8],
        regions: ssaLike.regions,
        forceForeground: true,
        augmentation: NO_AUGMENTATION,
      });
      expect(s.foreground).toBe(true);
      expect(s.target.data.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      // image channel 0 holds the flat index: the patch's first voxel tells where it was cut
      const first = s.image.data[0]!;
      const z0 = first % 16;
      const y0 = ((first - z0) / 16) % 18;
      const x0 = (first - z0 - y0 * 16) / (18 * 16);
      expect(s.center.every((v, a) => v >= [x0, y0, z0][a]! && v < [x0, y0, z0][a]! + 8)).toBe(true);
      expect(s.image.data[8 * 8 * 8 - 1]).toBe(((x0 + 7) * 18 + y0 + 7) * 16 + z0 + 7);
    }
  });
  it('random patches are deterministic per seed and pad small cases', () => {
    const opts = {
      patchSize: [24, 8, 8] as [number, number, number],
      regions: ssaLike.regions,
      forceForeground: false,
      augmentation: DEFAULT_AUGMENTATION,
    };
    const a = samplePatch(c, fg, new Random(9), opts);
    const b = samplePatch(c, fg, new Random(9), opts);
    expect(a.image.data).toEqual(b.image.data);
    expect(a.target.data).toEqual(b.target.data);
    expect(a.image.shape).toEqual([2, 24, 8, 8]);
    expect(a.target.shape).toEqual([3, 24, 8, 8]);
    for (const v of a.target.data) expect(v === 0 || v === 1).toBe(true);
  });
  it('validation patch is centred on the foreground centroid', () => {
    const v = validationPatch(c, [8, 8, 8], ssaLike.regions);
    // centroid of 8 voxels at (15.5, 3.5, 12.5) and 1 at (2,2,2): (14, 3.33, 11.33) -> (14, 3, 11)
    // start = clamp(center - 4) = (10, 0, 7)
    expect(v.image.data[0]).toBe((10 * 18 + 0) * 16 + 7);
    expect(v.target.data.reduce((a, b) => a + b, 0)).toBe(8 * 3);
  });
  it('channels-last conversion interleaves channels', () => {
    const out = toChannelsLast({ data: new Float32Array([1, 2, 3, 10, 20, 30]), shape: [2, 1, 1, 3] });
    expect([...out]).toEqual([1, 10, 2, 20, 3, 30]);
  });
});
