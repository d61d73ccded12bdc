import { describe, expect, it } from 'vitest';
import { generatePhantom } from '../src/demo/phantom.js';

const shape: [number, number, number] = [48, 48, 32];
const spacing: [number, number, number] = [4, 4, 4];

/** Mean of a modality over the voxels with a given label. */
function meanOver(data: Float32Array, label: Uint8Array, value: number): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < data.length; i++)
    if (label[i] === value) {
      s += data[i]!;
      n++;
    }
  return s / n;
}

describe('generatePhantom', () => {
  it('is deterministic in the seed and different across seeds', () => {
    const a = generatePhantom({ seed: 11, shape, spacing });
    const b = generatePhantom({ seed: 11, shape, spacing });
    const c = generatePhantom({ seed: 12, shape, spacing });
    expect(a.images[1]!.data).toEqual(b.images[1]!.data);
    expect(a.label.data).toEqual(b.label.data);
    expect(a.label.data).not.toEqual(c.label.data);
    expect(a.id).toBe('Phantom-glioma-11');
    expect(a.images).toHaveLength(4);
    expect(a.images[0]!.shape).toEqual(shape);
    expect(a.images[0]!.spacing).toEqual(spacing);
  });

  it('has all adult sub-regions with plausible contrasts, and a zero background', () => {
    const p = generatePhantom({ seed: 3, shape, spacing });
    const counts = [0, 0, 0, 0];
    for (const v of p.label.data) counts[v]!++;
    expect(counts[1]).toBeGreaterThan(0);
    expect(counts[2]).toBeGreaterThan(0);
    expect(counts[3]).toBeGreaterThan(0);
    const [t1n, t1c, t2w, t2f] = p.images.map((v) => v.data) as Float32Array[];
    // enhancing rim bright on T1c compared with necrosis; edema bright on FLAIR relative to healthy brain (label 0 inside the brain)
    const brain = Uint8Array.from(p.label.data, (l, i) => (l === 0 && t1n![i]! > 0 ? 9 : l));
    expect(meanOver(t1c!, p.label.data, 3) / meanOver(t1c!, p.label.data, 1)).toBeGreaterThan(2);
    expect(meanOver(t2f!, brain, 2) / meanOver(t2f!, brain, 9)).toBeGreaterThan(1.3);
    expect(meanOver(t2w!, p.label.data, 1) / meanOver(t2w!, brain, 9)).toBeGreaterThan(1.5);
    // skull-stripped: the corner voxel is 0 in every modality
    for (const img of p.images) expect(img.data[0]).toBe(0);
    expect(p.convention).toBe('adult');
  });

  it('ped variant uses the paediatric labels and has a cyst that is bright on T2 and dark on T1', () => {
    const p = generatePhantom({ seed: 4, shape, spacing, variant: 'ped' });
    expect(p.convention).toBe('ped');
    const counts = [0, 0, 0, 0, 0];
    for (const v of p.label.data) counts[v]!++;
    expect(counts[3]).toBeGreaterThan(0);
    expect(counts[4]).toBeGreaterThan(0);
    const [t1n, , t2w] = p.images.map((v) => v.data) as Float32Array[];
    expect(meanOver(t2w!, p.label.data, 3)).toBeGreaterThan(meanOver(t2w!, p.label.data, 2));
    expect(meanOver(t1n!, p.label.data, 3)).toBeLessThan(meanOver(t1n!, p.label.data, 4));
  });

  it('ssa variant is degraded: noisier and with thick slices', () => {
    const good = generatePhantom({ seed: 8, shape, spacing });
    const poor = generatePhantom({ seed: 8, shape, spacing, variant: 'ssa' });
    expect(poor.info.degradations.some((d) => d.startsWith('slices'))).toBe(true);
    // roughness: mean absolute difference of neighbours along z inside healthy white matter, relative to the mean
    const roughness = (data: Float32Array, label: Uint8Array) => {
      let s = 0;
      let m = 0;
      for (let i = 0; i + 1 < data.length; i++)
        if (data[i]! > 0 && data[i + 1]! > 0 && label[i] === 0) {
          s += Math.abs(data[i + 1]! - data[i]!);
          m += data[i]!;
        }
      return s / m;
    };
    expect(roughness(poor.images[0]!.data, poor.label.data)).toBeGreaterThan(
      1.5 * roughness(good.images[0]!.data, good.label.data),
    );
  });
});
