/**
 * The seed paper's postprocessing (`biomedmbz_glioma/postprocessing.py`, submission path):
 * thresholds with `>=`, then a component filter on ET, then TC, then WT, then painting
 * WT -> 2, TC -> 1, ET -> 3. Region channels are named TC, WT, ET as in the seed code.
 *
 * The component filter, per region: 26-connected components sorted by size (largest first,
 * ties in label order); walk them, skipping a component smaller than `minSize` or whose mean
 * probability is below `minMeanProbability`, and stop after `maxComponents` kept. For TC the
 * candidates are `TC >= t` united with the filtered ET, for WT `WT >= t` united with the
 * filtered ET and TC; a TC (WT) component is kept whatever its size and mean when it holds at
 * least half of all ET (TC) voxels — the seed's "includes ET" test as its code actually computes
 * it (it compares the binary mask with component number 1, i.e. with the whole inner region).
 */
import { labelConnectedComponents, type ChannelVolume, type Shape3 } from '@mednext-ts/tensor3d';
import { MedNeXtError } from '../errors.js';

/** Filter settings of one region. */
export interface SeedRegionSettings {
  threshold: number;
  /** Components with fewer voxels are dropped (unless forced); 0 keeps every size. */
  minSize: number;
  /** Components whose mean probability is lower are dropped (unless forced); 0 keeps all. */
  minMeanProbability: number;
  /** At most this many components are kept (Infinity: no limit). */
  maxComponents: number;
}

/** Settings for the three seed regions. */
export type SeedPostprocessSettings = Record<'TC' | 'WT' | 'ET', SeedRegionSettings>;

/** Result of {@link seedPostprocess}. */
export interface SeedPostprocessResult {
  /** Label map on the probability grid: 0, 1 (TC), 2 (WT), 3 (ET) as the seed paints them. */
  labels: Uint8Array;
  /** Final region masks. */
  masks: Record<'TC' | 'WT' | 'ET', Uint8Array>;
}

/**
 * Binarises with `p >= threshold`. The seed compares float32 probabilities with a Python float
 * under NumPy's float32 rules, so the threshold is rounded to float32 first.
 */
export function seedThreshold(probabilities: Float32Array, threshold: number): Uint8Array {
  const t = Math.fround(threshold);
  const out = new Uint8Array(probabilities.length);
  for (let i = 0; i < out.length; i++) out[i] = probabilities[i]! >= t ? 1 : 0;
  return out;
}

/** Float32 NumPy-style mean (pairwise summation over blocks of 8, as `np.add.reduce` does). */
function float32Mean(values: Float32Array): number {
  return Math.fround(pairwiseSum(values, 0, values.length) / values.length);
}

function pairwiseSum(a: Float32Array, lo: number, n: number): number {
  const f = Math.fround;
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s = f(s + a[lo + i]!);
    return s;
  }
  if (n <= 128) {
    const r = [a[lo]!, a[lo + 1]!, a[lo + 2]!, a[lo + 3]!, a[lo + 4]!, a[lo + 5]!, a[lo + 6]!, a[lo + 7]!];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let k = 0; k < 8; k++) r[k] = f(r[k]! + a[lo + i + k]!);
    let s = f(f(f(r[0]! + r[1]!) + f(r[2]! + r[3]!)) + f(f(r[4]! + r[5]!) + f(r[6]! + r[7]!)));
    for (; i < n; i++) s = f(s + a[lo + i]!);
    return s;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f(pairwiseSum(a, lo, n2) + pairwiseSum(a, lo + n2, n - n2));
}

/**
 * One region's component filter.
 * @param candidates - binary mask (modified copy returned)
 * @param probabilities - the region's probability channel
 * @param inner - the filtered inner region whose majority holder is always kept (TC for WT, ET for TC)
 */
export function seedComponentFilter(
  candidates: Uint8Array,
  probabilities: Float32Array,
  shape: Shape3,
  settings: SeedRegionSettings,
  inner?: Uint8Array,
): Uint8Array {
  const { labels, count } = labelConnectedComponents(candidates, shape, 26);
  const size = new Float64Array(count + 1);
  const overlap = new Float64Array(count + 1);
  let innerTotal = 0;
  const members: number[][] = Array.from({ length: count + 1 }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (inner && inner[i]) innerTotal++;
    if (l === 0) continue;
    size[l]++;
    members[l]!.push(i);
    if (inner && inner[i]) overlap[l]++;
  }
  const order = Array.from({ length: count }, (_, k) => k + 1);
  order.sort((a, b) => size[b]! - size[a]! || a - b); // descending size, stable in label order
  const out = new Uint8Array(candidates.length);
  let kept = 0;
  for (const l of order) {
    const forced = inner !== undefined && innerTotal > 0 && overlap[l]! / innerTotal >= 0.5;
    if (!forced) {
      if (size[l]! < settings.minSize) continue;
      const idx = members[l]!;
      const values = new Float32Array(idx.length);
      for (let k = 0; k < idx.length; k++) values[k] = probabilities[idx[k]!]!;
      if (float32Mean(values) < settings.minMeanProbability) continue;
    }
    for (const i of members[l]!) out[i] = 1;
    kept++;
    if (kept >= settings.maxComponents) break;
  }
  return out;
}

/**
 * The whole seed postprocessing on `[3, I, J, K]` probabilities whose channels are named by
 * `regions` (the seed order is TC, WT, ET).
 */
export function seedPostprocess(
  probabilities: ChannelVolume,
  regions: readonly string[],
  settings: SeedPostprocessSettings,
): SeedPostprocessResult {
  const [channels, nx, ny, nz] = probabilities.shape;
  const shape: Shape3 = [nx, ny, nz];
  const n = nx * ny * nz;
  const channel = (name: 'TC' | 'WT' | 'ET'): Float32Array => {
    const c = regions.indexOf(name);
    if (c < 0 || c >= channels)
      throw new MedNeXtError(
        'TASK_MISMATCH',
        `seed postprocessing: no '${name}' channel (regions: ${regions.join(', ')})`,
      );
    return probabilities.data.subarray(c * n, (c + 1) * n) as Float32Array;
  };
  const pTC = channel('TC');
  const pWT = channel('WT');
  const pET = channel('ET');
  const bTC = seedThreshold(pTC, settings.TC.threshold);
  const bWT = seedThreshold(pWT, settings.WT.threshold);
  const bET = seedThreshold(pET, settings.ET.threshold);
  const et = seedComponentFilter(bET, pET, shape, settings.ET);
  for (let i = 0; i < n; i++) if (et[i]) bTC[i] = 1;
  const tc = seedComponentFilter(bTC, pTC, shape, settings.TC, et);
  for (let i = 0; i < n; i++) if (et[i] || tc[i]) bWT[i] = 1;
  const wt = seedComponentFilter(bWT, pWT, shape, settings.WT, tc);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = et[i] ? 3 : tc[i] ? 1 : wt[i] ? 2 : 0;
  return { labels, masks: { TC: tc, WT: wt, ET: et } };
}
