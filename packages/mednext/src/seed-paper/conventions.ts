/**
 * The seed paper's conventions as data: channel order, region order, painting, window size and
 * the postprocessing parameter sets found in its repository and paper.
 */
import type { SeedPostprocessSettings } from './postprocess.js';

/** Channel order of the released models: T2-FLAIR, T1 native, T1 contrast, T2. */
export const SEED_MODALITIES = ['t2f', 't1n', 't1c', 't2w'] as const;

/** Output channels of the released models (`ConvertToMultiChannelBasedOnBrats2023Classes`). */
export const SEED_REGIONS = ['TC', 'WT', 'ET'] as const;

/** Window of the public submission script (`validation-phase-get-predictions.py`: roi 128^3, overlap 0.5). */
export const SEED_WINDOW: [number, number, number] = [128, 128, 128];

const NO_LIMIT = Number.POSITIVE_INFINITY;

/**
 * `validation-phase-postprocessing.py`: thresholds 0.5; ET/TC/WT minimum sizes 100/150/500,
 * minimum mean probability 0.1, at most 10 components. Equal to the paper's first PED row.
 */
export const SEED_SUBMISSION_POSTPROCESS: SeedPostprocessSettings = {
  TC: { threshold: 0.5, minSize: 150, minMeanProbability: 0.1, maxComponents: 10 },
  WT: { threshold: 0.5, minSize: 500, minMeanProbability: 0.1, maxComponents: 10 },
  ET: { threshold: 0.5, minSize: 100, minMeanProbability: 0.1, maxComponents: 10 },
};

/**
 * The paper's best SSA entry (Table 1 row 6): thresholds TC 0.7, WT 0.5, ET 0.7. The paper gives
 * no component filter for it, so none is applied.
 */
export const SEED_SSA_PAPER_POSTPROCESS: SeedPostprocessSettings = {
  TC: { threshold: 0.7, minSize: 0, minMeanProbability: 0, maxComponents: NO_LIMIT },
  WT: { threshold: 0.5, minSize: 0, minMeanProbability: 0, maxComponents: NO_LIMIT },
  ET: { threshold: 0.7, minSize: 0, minMeanProbability: 0, maxComponents: NO_LIMIT },
};

/**
 * The paper's best PED entry (Table 2): minimum sizes ET 50, TC 75, WT 250, thresholds 0.5.
 * The paper states only the sizes; the mean-probability (0.1) and count (10) rules are those of
 * the submission script, whose sizes equal the paper's first PED row (an inference).
 */
export const SEED_PED_PAPER_POSTPROCESS: SeedPostprocessSettings = {
  TC: { threshold: 0.5, minSize: 75, minMeanProbability: 0.1, maxComponents: 10 },
  WT: { threshold: 0.5, minSize: 250, minMeanProbability: 0.1, maxComponents: 10 },
  ET: { threshold: 0.5, minSize: 50, minMeanProbability: 0.1, maxComponents: 10 },
};

/**
 * PED label mappings of the painted values 1/2/3. `seed`: as written by the seed code; if the
 * models were trained on raw PED-2024 labels (the repository has no PED-specific conversion),
 * these already read 1 ET, 2 NETC, 3 CC, and edema (4) is never produced. `adult-to-ped`: for a
 * model whose channels follow the adult-glioma meaning (1 NETC, 2 edema, 3 ET), rewrite them to
 * PED values 2 NETC, 4 ED, 1 ET.
 */
export const SEED_PED_LABEL_MAPPINGS: Record<string, Record<number, number>> = {
  seed: { 1: 1, 2: 2, 3: 3 },
  'adult-to-ped': { 1: 2, 2: 4, 3: 1 },
};

/**
 * A task's postprocessing preset from seed settings (`maxComponents` without limit becomes `null`,
 * as the `--postprocess` JSON writes it).
 */
export function seedPostprocessPreset(
  description: string,
  settings: SeedPostprocessSettings,
): {
  description: string;
  regions: Record<
    string,
    { threshold: number; minSize: number; minMeanProbability: number; maxComponents: number | null }
  >;
} {
  const regions: Record<
    string,
    { threshold: number; minSize: number; minMeanProbability: number; maxComponents: number | null }
  > = {};
  for (const [name, s] of Object.entries(settings)) {
    regions[name] = {
      threshold: s.threshold,
      minSize: s.minSize,
      minMeanProbability: s.minMeanProbability,
      maxComponents: Number.isFinite(s.maxComponents) ? s.maxComponents : null,
    };
  }
  return { description, regions };
}

/** `cv_postprocessing_and_eval.py` defaults: thresholds 0.5; ET 60/0.825/5, TC 60/0.775/5, WT 60/0.825/5. */
export const SEED_CV_POSTPROCESS: SeedPostprocessSettings = {
  TC: { threshold: 0.5, minSize: 60, minMeanProbability: 0.775, maxComponents: 5 },
  WT: { threshold: 0.5, minSize: 60, minMeanProbability: 0.825, maxComponents: 5 },
  ET: { threshold: 0.5, minSize: 60, minMeanProbability: 0.825, maxComponents: 5 },
};
