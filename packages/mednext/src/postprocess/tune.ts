/**
 * Grid search of postprocessing settings on cross-validation probability maps (what the paper
 * did with an external sweep service): per region, every threshold x minimum size on a grid,
 * scored with the lesion-wise BraTS metrics of the whole label map.
 */
import { labelConnectedComponents, labelSizes, type ChannelVolume, type Shape3 } from '@mednext-ts/tensor3d';
import type { TaskDefinition } from '../tasks/index.js';
import type { RegionPostprocess } from './config.js';
import { regionsToLabelMap } from './labels.js';
import { binarize } from './postprocess.js';
import { applyPostprocessSteps } from './steps.js';
import { MedNeXtError } from '../errors.js';

/** The mask after the region's further postprocessing steps (the same as prediction applies). */
function withSteps(mask: Uint8Array, shape: Shape3, steps: RegionPostprocess['steps']): Uint8Array {
  if (steps?.length) applyPostprocessSteps(mask, shape, steps);
  return mask;
}

/** One case of the tuning set: region probabilities and the ground-truth labels on the same grid. */
export interface TuneCase {
  id: string;
  probabilities: ChannelVolume;
  labels: Uint8Array;
  spacing?: [number, number, number];
  /**
   * Shape of the whole case when the arrays are a crop of it: scorers whose values depend on the
   * field of view (a default HD95 penalty) use it, so tuning scores as evaluation does.
   */
  fullShape?: Shape3;
}

/** Score of one predicted label map: mean lesion-wise Dice (higher is better) and HD95 (lower is better, the tie-breaker). */
export interface CaseScore {
  dice: number;
  hd95: number;
}

/** Scores a predicted label map against a case's ground truth. */
export type CaseScorer = (prediction: Uint8Array, tuneCase: TuneCase, shape: Shape3) => CaseScore;

/** The search grid, shared by every region. */
export interface TuneGrid {
  thresholds: number[];
  minSizes: number[];
}

/** Result of {@link tunePostprocess}. */
export interface TuneResult {
  settings: RegionPostprocess[];
  /** Mean score over the cases with the chosen settings, and with the starting settings. */
  score: CaseScore;
  baseline: CaseScore;
  /** Every evaluated candidate, in order. */
  trials: { region: string; threshold: number; minSize: number; score: CaseScore }[];
}

/** A region mask for (threshold, minSize), from components labelled once per threshold. */
interface ThresholdComponents {
  labels: Int32Array;
  sizes: Float64Array;
}

function components(prob: Float32Array, shape: Shape3, threshold: number): ThresholdComponents {
  const { labels, count } = labelConnectedComponents(binarize(prob, threshold), shape, 26);
  return { labels, sizes: labelSizes(labels, count) };
}

function maskFrom(c: ThresholdComponents, minSize: number): Uint8Array {
  const mask = new Uint8Array(c.labels.length);
  for (let i = 0; i < mask.length; i++) {
    const l = c.labels[i]!;
    if (l && c.sizes[l]! >= minSize) mask[i] = 1;
  }
  return mask;
}

/** `a` better than `b`: higher Dice, or equal Dice (to 1e-9) and lower HD95. */
function better(a: CaseScore, b: CaseScore): boolean {
  if (a.dice > b.dice + 1e-9) return true;
  return Math.abs(a.dice - b.dice) <= 1e-9 && a.hd95 < b.hd95 - 1e-9;
}

/**
 * Coordinate search: regions are tuned one after the other in channel order, each over the full
 * threshold x minimum-size grid with the other regions held at their current best. Candidates
 * are scored by the mean over cases of `scorer` on the complete label map, because nested regions
 * interact (a TC threshold also moves the WT boundary of the label map). `passes` repeats the
 * sweep (default 1).
 */
export function tunePostprocess(
  cases: readonly TuneCase[],
  task: TaskDefinition,
  grid: TuneGrid,
  scorer: CaseScorer,
  start: readonly RegionPostprocess[],
  options: {
    passes?: number;
    onTrial?: (trial: TuneResult['trials'][number], index: number, total: number) => void;
  } = {},
): TuneResult {
  if (cases.length === 0) throw new MedNeXtError('POSTPROCESS_CONFIG', 'tune-postprocess: no cases');
  for (const t of grid.thresholds)
    if (!(t > 0 && t < 1))
      throw new MedNeXtError('POSTPROCESS_CONFIG', `tune-postprocess: threshold ${t} is not in (0, 1)`);
  for (const m of grid.minSizes)
    if (!Number.isInteger(m) || m < 0)
      throw new MedNeXtError('POSTPROCESS_CONFIG', `tune-postprocess: minimum size ${m} is not a non-negative integer`);
  const regions = task.regions.length;
  const settings = start.map((s) => ({ ...s }));
  // Region masks of every case under the current settings, recomputed only for the region being tuned.
  const shapes = cases.map((c) => c.probabilities.shape.slice(1) as Shape3);
  const channel = (c: number, r: number) => {
    const n = cases[c]!.labels.length;
    return cases[c]!.probabilities.data.subarray(r * n, (r + 1) * n);
  };
  const current: Uint8Array[][] = cases.map((_, c) =>
    settings.map((s, r) =>
      withSteps(maskFrom(components(channel(c, r), shapes[c]!, s.threshold), s.minSize), shapes[c]!, s.steps),
    ),
  );
  const evaluate = (masks: Uint8Array[][]): CaseScore => {
    let dice = 0;
    let hd95 = 0;
    masks.forEach((m, c) => {
      const s = scorer(regionsToLabelMap(m, task), cases[c]!, shapes[c]!);
      dice += s.dice;
      hd95 += s.hd95;
    });
    return { dice: dice / cases.length, hd95: hd95 / cases.length };
  };
  const baseline = evaluate(current);
  let best = baseline;
  const trials: TuneResult['trials'] = [];
  const passes = options.passes ?? 1;
  const total = passes * regions * grid.thresholds.length * grid.minSizes.length;
  for (let pass = 0; pass < passes; pass++) {
    for (let r = 0; r < regions; r++) {
      let bestMasks = current.map((m) => m[r]!);
      for (const threshold of grid.thresholds) {
        const comps = cases.map((_, c) => components(channel(c, r), shapes[c]!, threshold));
        for (const minSize of grid.minSizes) {
          const candidate = comps.map((cc, c) => withSteps(maskFrom(cc, minSize), shapes[c]!, settings[r]!.steps));
          const masks = current.map((m, c) => m.map((mask, k) => (k === r ? candidate[c]! : mask)));
          const score = evaluate(masks);
          const trial = { region: task.regions[r]!.name, threshold, minSize, score };
          trials.push(trial);
          options.onTrial?.(trial, trials.length, total);
          if (better(score, best)) {
            best = score;
            settings[r] = { ...settings[r]!, threshold, minSize };
            bestMasks = candidate;
          }
        }
      }
      current.forEach((m, c) => (m[r] = bestMasks[c]!));
    }
  }
  return { settings, score: best, baseline, trials };
}
