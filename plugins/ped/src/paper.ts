/**
 * Task `ped-paper`: runs the seed paper's released PED models (Zenodo record 14446377) exactly as
 * the team's code does (mednext's `seed-paper` pipeline; see the `ssa-paper` task of the SSA plugin).
 *
 * The seed code has no PED-specific label handling: its channels are built from label values
 * {1,3}, {1,2,3} and {3} and painted WT -> 2, TC -> 1, ET -> 3. Read with the 2024 PED labels
 * (1 ET, 2 NETC, 3 CC, 4 ED) — assuming the models were trained on the raw PED labels — the channels
 * named TC, WT and ET hold ET+CC, ET+NETC+CC and CC, and the painted values 1, 2, 3 already mean
 * ET, NETC, CC; edema (4) is never predicted. The `adult-to-ped` label mapping rewrites the output
 * for a model whose channels follow the adult-glioma meaning instead (1 NETC -> 2, 2 edema -> 4,
 * 3 ET -> 1).
 */
import { defineTask, type LabelDefinition, type TaskDefinition, type TrainingRecipe } from '@mednext-ts/mednext/tasks';
import {
  SEED_CV_POSTPROCESS,
  SEED_MODALITIES,
  SEED_PED_LABEL_MAPPINGS,
  SEED_PED_PAPER_POSTPROCESS,
  SEED_SSA_PAPER_POSTPROCESS,
  SEED_SUBMISSION_POSTPROCESS,
  SEED_WINDOW,
  seedPostprocessPreset,
} from '@mednext-ts/mednext/seed-conventions';

/**
 * Task `ped-paper` with the PED labels and training recipe of the `ped` task. Defaults: the
 * paper's best PED minimum sizes (ET 50, TC 75, WT 250 voxels; threshold 0.5) with the public
 * submission script's other rules (mean probability >= 0.1, at most 10 components).
 */
export function makePedPaperTask(labels: LabelDefinition[], training: TrainingRecipe): TaskDefinition {
  const region = (name: 'TC' | 'WT' | 'ET', labelValues: number[]) => ({
    name,
    labels: labelValues,
    threshold: SEED_PED_PAPER_POSTPROCESS[name].threshold,
    minSize: SEED_PED_PAPER_POSTPROCESS[name].minSize,
    minMeanProbability: SEED_PED_PAPER_POSTPROCESS[name].minMeanProbability,
    maxComponents: SEED_PED_PAPER_POSTPROCESS[name].maxComponents,
  });
  return defineTask({
    id: 'ped-paper',
    description:
      "BraTS-2024 Pediatric with the seed paper's released models and its code's conventions (channels t2f, t1n, t1c, t2w; output 1 ET, 2 NETC, 3 CC, no ED)",
    labels,
    // Channel names as in the seed code; under the PED labels they hold ET+CC, ET+NETC+CC and CC.
    regions: [region('TC', [1, 3]), region('WT', [1, 2, 3]), region('ET', [3])],
    modalities: [...SEED_MODALITIES],
    regionsToLabels: [
      { region: 'WT', label: 2 },
      { region: 'TC', label: 1 },
      { region: 'ET', label: 3 },
    ],
    training,
    // Scored with the official BraTS 2024 PED evaluation, as the `ped` task.
    evaluation: { preset: 'brats-2024-ped' },
    pipeline: 'seed-paper',
    windowSize: [...SEED_WINDOW],
    postprocessPresets: {
      'paper-ped': seedPostprocessPreset(
        'the paper, best PED entry (Table 2) (the default)',
        SEED_PED_PAPER_POSTPROCESS,
      ),
      submission: seedPostprocessPreset(
        'validation-phase-postprocessing.py of the public code: 0.5; ET/TC/WT min 100/150/500 voxels, mean >= 0.1, <= 10 components',
        SEED_SUBMISSION_POSTPROCESS,
      ),
      'paper-ssa': seedPostprocessPreset(
        'the paper, best SSA entry (Table 1): thresholds only',
        SEED_SSA_PAPER_POSTPROCESS,
      ),
      'cv-defaults': seedPostprocessPreset('cv_postprocessing_and_eval.py defaults', SEED_CV_POSTPROCESS),
    },
    labelMappings: SEED_PED_LABEL_MAPPINGS,
  });
}
