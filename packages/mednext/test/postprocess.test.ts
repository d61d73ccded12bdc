import type { ChannelVolume } from '@mednext-ts/tensor3d';
import { describe, expect, it } from 'vitest';
import { parsePostprocessConfig, parseRegionValues, resolvePostprocess } from '../src/postprocess/config.js';
import { labelMapToRegions, regionsToLabelMap } from '../src/postprocess/labels.js';
import {
  binarize,
  postprocessRegions,
  probabilitiesToLabels,
  removeSmallComponents,
} from '../src/postprocess/postprocess.js';
import { smallSsaTask } from './helpers/ssa-task.js';

/** The SSA convention: 1 NETC, 2 SNFH, 3 ET; regions WT, TC, ET; WT->2, TC->1, ET->3. */
const ssa = smallSsaTask({
  regions: [
    { name: 'WT', labels: [1, 2, 3], threshold: 0.5, minSize: 0 },
    { name: 'TC', labels: [1, 3], threshold: 0.7, minSize: 0 },
    { name: 'ET', labels: [3], threshold: 0.7, minSize: 3 },
  ],
});

describe('thresholds', () => {
  it('keeps voxels at or above the threshold', () => {
    expect(Array.from(binarize([0.1, 0.5, 0.69, 0.7, 0.71, 1], 0.7))).toEqual([0, 0, 0, 1, 1, 1]);
  });

  it('resolves task defaults, then the config file, then overrides', () => {
    expect(resolvePostprocess(ssa)).toEqual([
      { name: 'WT', threshold: 0.5, minSize: 0 },
      { name: 'TC', threshold: 0.7, minSize: 0 },
      { name: 'ET', threshold: 0.7, minSize: 3 },
    ]);
    const config = parsePostprocessConfig(
      { task: 'ssa-test', regions: { WT: { threshold: 0.4, minSize: 10 }, ET: { threshold: 0.6 } } },
      'pp.json',
    );
    const resolved = resolvePostprocess(ssa, config, {
      thresholds: parseRegionValues('et=0.8', ['WT', 'TC', 'ET'], '--thresholds'),
      minSizes: { TC: 5 },
    });
    expect(resolved).toEqual([
      { name: 'WT', threshold: 0.4, minSize: 10 },
      { name: 'TC', threshold: 0.7, minSize: 5 },
      { name: 'ET', threshold: 0.8, minSize: 3 },
    ]);
    expect(parseRegionValues('0.6', ['WT', 'TC'], '--thresholds')).toEqual({ WT: 0.6, TC: 0.6 });
  });

  it('names the problem in errors', () => {
    expect(() => parseRegionValues('NC=0.5', ['WT'], '--thresholds')).toThrow(/--thresholds: unknown region 'NC'/);
    expect(() => parsePostprocessConfig({ regions: { WT: { threshold: 'high' } } }, 'pp.json')).toThrow(
      /pp.json: regions.WT.threshold is not a number/,
    );
    expect(() => resolvePostprocess(ssa, { task: 'ped', regions: {} })).toThrow(/made for task 'ped'/);
    expect(() => resolvePostprocess(ssa, undefined, { thresholds: { WT: 1.2 } })).toThrow(
      /WT: threshold must be in \(0, 1\)/,
    );
    expect(() => resolvePostprocess(ssa, undefined, { minSizes: { CC: 3 } })).toThrow(/unknown region 'CC'/);
  });
});

describe('minimum component size (26-connectivity)', () => {
  it('removes components smaller than the minimum and keeps diagonal neighbours together', () => {
    const shape: [number, number, number] = [4, 4, 4];
    const mask = new Uint8Array(64);
    const set = (x: number, y: number, z: number) => (mask[(x * 4 + y) * 4 + z] = 1);
    // component A: 3 voxels connected only through corners (26-connected, not 6-connected)
    set(0, 0, 0);
    set(1, 1, 1);
    set(2, 2, 2);
    // component B: 2 face-connected voxels
    set(0, 3, 3);
    set(0, 3, 2);
    const removed = removeSmallComponents(mask, shape, 3);
    expect(removed).toBe(1);
    expect(mask.reduce((a, b) => a + b, 0)).toBe(3);
    expect(mask[(2 * 4 + 2) * 4 + 2]).toBe(1);
    expect(mask[(0 * 4 + 3) * 4 + 3]).toBe(0);
    expect(removeSmallComponents(mask, shape, 0)).toBe(0);
  });
});

describe('regions to labels', () => {
  it('paints WT, then TC, then ET so later regions overwrite earlier ones', () => {
    const wt = Uint8Array.from([1, 1, 1, 0, 0]);
    const tc = Uint8Array.from([0, 1, 1, 1, 0]);
    const et = Uint8Array.from([0, 0, 1, 0, 0]);
    expect(Array.from(regionsToLabelMap([wt, tc, et], ssa))).toEqual([2, 1, 3, 1, 0]);
    expect(() => regionsToLabelMap([wt, tc], ssa)).toThrow(/2 masks for the 3 regions/);
  });

  it('round-trips a nested label map through its regions', () => {
    const labels = Uint8Array.from([0, 1, 2, 3, 2, 0, 1]);
    const regions = labelMapToRegions(labels, ssa);
    expect(Array.from(regions[0]!)).toEqual([0, 1, 1, 1, 1, 0, 1]);
    expect(Array.from(regions[1]!)).toEqual([0, 1, 0, 1, 0, 0, 1]);
    expect(Array.from(regions[2]!)).toEqual([0, 0, 0, 1, 0, 0, 0]);
    expect(regionsToLabelMap(regions, ssa)).toEqual(labels);
  });

  it('runs the whole chain on probability maps', () => {
    // 1 x 1 x 6 grid; channels WT, TC, ET
    const probs: ChannelVolume = {
      data: Float32Array.from([
        0.9, 0.9, 0.9, 0.6, 0.4, 0.9, /* TC */ 0.8, 0.8, 0.8, 0.6, 0.1, 0.1, /* ET */ 0.75, 0.75, 0.1, 0.9, 0.1, 0.1,
      ]),
      shape: [3, 1, 1, 6],
    };
    const settings = resolvePostprocess(ssa);
    // ET (min 3 voxels): above 0.7 at z = 0, 1 (a 2-voxel component) and z = 3 (1 voxel): both removed
    expect(postprocessRegions(probs, settings).map((m) => Array.from(m))).toEqual([
      [1, 1, 1, 1, 0, 1],
      [1, 1, 1, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
    ]);
    expect(Array.from(probabilitiesToLabels(probs, ssa, settings))).toEqual([1, 1, 1, 2, 0, 2]);
    const keepEt = resolvePostprocess(ssa, undefined, { minSizes: { ET: 0 } });
    expect(Array.from(probabilitiesToLabels(probs, ssa, keepEt))).toEqual([3, 3, 1, 3, 0, 2]);
  });
});
