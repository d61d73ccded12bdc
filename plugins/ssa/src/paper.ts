/**
 * Task `ssa-paper`: runs the seed paper's released SSA models (Zenodo record 14414932) exactly as
 * the team's code does, through mednext's `seed-paper` pipeline: channels t2f, t1n, t1c, t2w;
 * int16/abs cast; crop to any non-zero voxel; per-channel non-zero z-score; region channels TC, WT,
 * ET; MONAI 1.1 sliding window (128^3, Gaussian); whole-volume flip TTA; the seed's component filter;
 * painting WT -> 2, TC -> 1, ET -> 3. For inference with those checkpoints; train with `ssa`.
 */
import { defineTask, type TaskDefinition } from '@mednext-ts/mednext/tasks';
import {
  SEED_CV_POSTPROCESS,
  SEED_MODALITIES,
  SEED_PED_PAPER_POSTPROCESS,
  SEED_SSA_PAPER_POSTPROCESS,
  SEED_SUBMISSION_POSTPROCESS,
  SEED_WINDOW,
  seedPostprocessPreset,
} from '@mednext-ts/mednext/seed-conventions';

/**
 * Task `ssa-paper`, sharing labels and training recipe with `base` (the `ssa` task). Defaults: the
 * paper's best SSA thresholds (TC 0.7, WT 0.5, ET 0.7), no component filter.
 */
export function makeSsaPaperTask(base: TaskDefinition): TaskDefinition {
  return defineTask({
    id: 'ssa-paper',
    description:
      "BraTS-2024 SSA with the seed paper's released models and its code's conventions (channels t2f, t1n, t1c, t2w; regions TC, WT, ET)",
    labels: base.labels,
    regions: [
      { name: 'TC', labels: [1, 3], threshold: SEED_SSA_PAPER_POSTPROCESS.TC.threshold, minSize: 0 },
      { name: 'WT', labels: [1, 2, 3], threshold: SEED_SSA_PAPER_POSTPROCESS.WT.threshold, minSize: 0 },
      { name: 'ET', labels: [3], threshold: SEED_SSA_PAPER_POSTPROCESS.ET.threshold, minSize: 0 },
    ],
    modalities: [...SEED_MODALITIES],
    regionsToLabels: [
      { region: 'WT', label: 2 },
      { region: 'TC', label: 1 },
      { region: 'ET', label: 3 },
    ],
    training: base.training,
    // Scored with the official BraTS 2024 SSA evaluation, as the `ssa` task.
    evaluation: { preset: 'brats-2024-ssa' },
    pipeline: 'seed-paper',
    windowSize: [...SEED_WINDOW],
    postprocessPresets: {
      'paper-ssa': seedPostprocessPreset(
        'the paper, best SSA entry (Table 1): thresholds only (the default)',
        SEED_SSA_PAPER_POSTPROCESS,
      ),
      submission: seedPostprocessPreset(
        'validation-phase-postprocessing.py of the public code: 0.5; ET/TC/WT min 100/150/500 voxels, mean >= 0.1, <= 10 components',
        SEED_SUBMISSION_POSTPROCESS,
      ),
      'paper-ped': seedPostprocessPreset(
        'the paper, best PED entry (Table 2): min 50/75/250 voxels',
        SEED_PED_PAPER_POSTPROCESS,
      ),
      'cv-defaults': seedPostprocessPreset('cv_postprocessing_and_eval.py defaults', SEED_CV_POSTPROCESS),
    },
  });
}
