import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SEED_MODALITIES,
  parseNpy,
  seedModelProbabilities,
  seedPostprocess,
  seedPreprocess,
  seedWeightedEnsemble,
  type SeedPostprocessSettings,
  type SeedPreprocessed,
} from '../src/index.js';
import { monaiGaussianImportanceMap, monaiWindowStarts } from '../src/seed-paper/monai-window.js';
import { seedIntensityCast } from '../src/seed-paper/preprocess.js';
import { loadCaseInput, loadInferenceModel } from '../src/node.js';
import { selectBackend, uncropVolume, type ChannelVolume } from '@mednext-ts/tensor3d';
import { FIXTURES } from './helpers.js';

// Reference outputs of the seed paper's own code (fixtures/seed-paper/README.md).
const DIR = path.join(FIXTURES, 'seed-paper');
const CASE = 'BraTS-SSA-99017-000';
const npy = (f: string) => {
  const raw = fs.readFileSync(path.join(DIR, f));
  return parseNpy(f.endsWith('.gz') ? gunzipSync(raw) : raw, f);
};
interface Manifest {
  index: Array<[string, string]>;
  sets: Record<string, [[number, number, number], ...Array<[number, number, number]>]>;
  ensemble_weights: number[][];
  meta: number[][];
  near_threshold_voxels: Record<string, number>;
}
const manifest = JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as Manifest;

/** The manifest's parameter set as seed settings (order: thresholds TC/WT/ET, then ET, TC, WT filters). */
function settingsOf(name: string): SeedPostprocessSettings {
  const [[tc, wt, et], E, T, W] = manifest.sets[name]! as unknown as [number[], number[], number[], number[]];
  const r = (t: number, f: number[]) => ({
    threshold: t,
    minSize: f[0]!,
    minMeanProbability: f[1]!,
    maxComponents: f[2]!,
  });
  return { TC: r(tc!, T), WT: r(wt!, W), ET: r(et!, E) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Voxels where the labels differ; each must have a seed probability within 1e-6 of its channel's threshold. */
function labelMismatches(
  ours: Uint8Array,
  theirs: ArrayLike<number>,
  seedProbs: ChannelVolume | null,
  pre: SeedPreprocessed,
  s: SeedPostprocessSettings,
): number {
  const [, ny, nz] = pre.originalShape;
  const m = pre.croppedShape[0] * pre.croppedShape[1] * pre.croppedShape[2];
  const thresholds = [s.TC.threshold, s.WT.threshold, s.ET.threshold];
  let count = 0;
  for (let i = 0; i < ours.length; i++) {
    if (ours[i] === theirs[i]) continue;
    count++;
    expect(seedProbs, 'labels differ and no seed probabilities to excuse it').not.toBeNull();
    const x = Math.floor(i / (ny * nz)) - pre.box.start[0];
    const y = (Math.floor(i / nz) % ny) - pre.box.start[1];
    const z = (i % nz) - pre.box.start[2];
    const v = (x * pre.croppedShape[1] + y) * pre.croppedShape[2] + z;
    const near = thresholds.some((t, c) => Math.abs(seedProbs!.data[c * m + v]! - t) <= 1e-6);
    expect(near, `voxel ${i} differs far from every threshold`).toBe(true);
  }
  return count;
}

describe('seed-paper building blocks', () => {
  it('places windows as MONAI 1.1 does (fixed stride, flush last window, centred padding)', () => {
    expect(monaiWindowStarts(84, 64, 0.5)).toEqual([0, 20]);
    expect(monaiWindowStarts(140, 128, 0.5)).toEqual([0, 12]);
    expect(monaiWindowStarts(172, 128, 0.7)).toEqual([0, 38, 44]);
    expect(monaiWindowStarts(128, 128, 0.5)).toEqual([0]);
    expect(monaiWindowStarts(24, 32, 0.5)).toEqual([-4]);
    expect(monaiWindowStarts(25, 32, 0.5)).toEqual([-3]); // (32 - 25) // 2 = 3 before, 4 after
  });

  it('builds the un-normalised Gaussian with the 1e-3 floor', () => {
    const map = monaiGaussianImportanceMap([128, 128, 128]);
    const centre = (64 * 128 + 64) * 128 + 64;
    expect(map[centre]).toBeCloseTo(0.99854, 5);
    expect(map[0]).toBeCloseTo(1e-3, 9);
    let floor = 0;
    for (const v of map) if (v === Math.fround(1e-3)) floor++;
    expect(floor / map.length).toBeGreaterThan(0.55);
    expect(floor / map.length).toBeLessThan(0.6);
  });

  it('casts intensities like np.abs(x.astype(int16)) with -32768 -> 0', () => {
    expect([-37.9, 12.5, -32768, 32767.9, 40000.7, -40000.2, Number.NaN, 3e9].map(seedIntensityCast)).toEqual([
      37, 12, 0, 32767, 25536, 25536, 0, 0,
    ]);
  });

  it('weights each channel of each model separately and refuses a zero weight sum', () => {
    const a = { data: new Float32Array([1, 1, 0, 0]), shape: [2, 1, 1, 2] as [number, number, number, number] };
    const b = { data: new Float32Array([0, 0, 1, 1]), shape: a.shape };
    expect(
      Array.from(
        seedWeightedEnsemble(
          [a, b],
          [
            [1, 0],
            [1, 1],
          ],
        ).data,
      ),
    ).toEqual([0.5, 0.5, 1, 1]);
    expect(() =>
      seedWeightedEnsemble(
        [a, b],
        [
          [1, 0],
          [1, 0],
        ],
      ),
    ).toThrow(/channel 1 sum to 0/);
  });
});

describe('seed-paper pipeline against the seed code', () => {
  let pre: SeedPreprocessed;
  let model: Awaited<ReturnType<typeof loadInferenceModel>>;
  let model2: Awaited<ReturnType<typeof loadInferenceModel>>;
  const ours: Record<string, ChannelVolume> = {};
  beforeAll(async () => {
    // tfjs cpu with the project's WebAssembly kernels for the heavy ops, as `mednext predict --backend cpu` runs.
    await selectBackend('cpu', { fastKernels: { threads: 2 } });
    const loaded = await loadCaseInput({ id: CASE, dir: path.join(DIR, CASE) }, SEED_MODALITIES);
    pre = seedPreprocess(loaded.image, CASE);
    model = await loadInferenceModel(path.join(DIR, 'model-b3.ckpt'), { patchSize: [32, 32, 32] });
    model2 = await loadInferenceModel(path.join(DIR, 'model-s5.ckpt'), { patchSize: [32, 32, 32] });
  }, 120_000);
  afterAll(() => {
    model?.dispose?.();
    model2?.dispose?.();
  });

  it('preprocesses like preprocessing_and_save (crop box and normalised channels)', () => {
    const meta = manifest.meta;
    expect(pre.box.start).toEqual(meta[0]);
    expect(pre.box.end).toEqual(meta[1]);
    expect(pre.originalShape).toEqual(meta[2]);
    expect(pre.croppedShape).toEqual(meta[3]);
    const x = npy('x.npy.gz');
    expect(x.shape).toEqual([4, ...pre.croppedShape]);
    expect(maxAbsDiff(pre.image.data, x.data)).toBeLessThan(1e-5);
    expect(pre.outOfRange).toBe(0);
  });

  for (const [key, tta] of [
    ['b3_tta0', false],
    ['b3_tta1', true],
  ] as const) {
    it(`gives the InferenceModule's probabilities within 1e-4 (TTA ${tta ? 'on' : 'off'})`, async () => {
      const probs = await seedModelProbabilities(pre.image, model, { overlap: 0.5, blend: 'gaussian', tta });
      ours[key] = probs;
      const ref = npy(`prob_${key}.npy.gz`);
      expect(ref.shape).toEqual(probs.shape);
      expect(maxAbsDiff(probs.data, ref.data)).toBeLessThan(1e-4);
    }, 120_000);
  }

  it('gives the weighted two-model ensemble within 1e-4', async () => {
    const p1 =
      ours.b3_tta0 ?? (await seedModelProbabilities(pre.image, model, { overlap: 0.5, blend: 'gaussian', tta: false }));
    const p2 = await seedModelProbabilities(pre.image, model2, { overlap: 0.5, blend: 'gaussian', tta: false });
    ours.ens = seedWeightedEnsemble([p1, p2], manifest.ensemble_weights);
    expect(maxAbsDiff(ours.ens.data, npy('prob_ens.npy.gz').data)).toBeLessThan(1e-4);
  }, 120_000);

  it('gives overlap 0.7 with constant blending', async () => {
    ours.b3_o07_const = await seedModelProbabilities(pre.image, model, { overlap: 0.7, blend: 'constant', tta: false });
  }, 120_000);

  it('writes the same label maps for every postprocessing set (near-threshold voxels excepted and counted)', () => {
    const labels = npy('labels.npy.gz');
    const [, nx, ny, nz] = labels.shape as [number, number, number, number];
    const n = nx * ny * nz;
    let excused = 0;
    for (const [k, [probKey, setName]] of manifest.index.entries()) {
      const probs = ours[probKey];
      expect(probs, `probabilities ${probKey} computed`).toBeDefined();
      const settings = settingsOf(setName);
      const painted = seedPostprocess(probs!, ['TC', 'WT', 'ET'], settings).labels;
      const full = uncropVolume({ data: painted, shape: pre.croppedShape }, pre.box, pre.originalShape).data;
      const seedProbs = probKey === 'b3_o07_const' ? null : npy(`prob_${probKey}.npy.gz`);
      const expected = labels.data.subarray(k * n, (k + 1) * n);
      const seedAsVolume = seedProbs
        ? { data: seedProbs.data, shape: seedProbs.shape as [number, number, number, number] }
        : null;
      excused += labelMismatches(full, expected, seedAsVolume, pre, settings);
    }
    // every difference sits within 1e-6 of a threshold (checked above); there are at most as many as such voxels
    const nearThreshold = Object.values(manifest.near_threshold_voxels).reduce((a, b) => a + b, 0);
    expect(excused).toBeLessThanOrEqual(nearThreshold);
  });
});

describe('seed-paper postprocessing on crafted probability maps', () => {
  const k = npy('pp_prob_k256.npy');
  const probs = { data: Float32Array.from(k.data, (v) => v / 256), shape: k.shape as [number, number, number, number] };
  const labels = npy('pp_labels.npy');
  const n = probs.data.length / 3;
  for (const [s, name] of Object.keys(manifest.sets).entries()) {
    it(`paints exactly what the seed paints with the '${name}' parameters`, () => {
      const ours = seedPostprocess(probs, ['TC', 'WT', 'ET'], settingsOf(name)).labels;
      const expected = labels.data.subarray(s * n, (s + 1) * n);
      let diff = 0;
      for (let i = 0; i < n; i++) if (ours[i] !== expected[i]) diff++;
      expect(diff).toBe(0);
      // the maps are not trivial: every set keeps some tumour and drops some candidates
      expect(ours.some((v) => v > 0)).toBe(true);
    });
  }
});
