import { stat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Command, Flags } from '@oclif/core';
import { affineSpacing } from '@mednext-ts/io-nifti';
import { readNifti } from '@mednext-ts/io-nifti/node';
import { writeFileAtomic } from '@mednext-ts/mednext/node';
import {
  caseIdOf,
  evaluateCase,
  formatMetric,
  pairCases,
  SUMMARY_METRICS,
  summarize,
  synapseCsv,
  type CaseMetrics,
  type EvaluationProtocol,
} from '@mednext-ts/metrics';
import { imageFilePattern, taskNaming, type TaskDefinition } from '@mednext-ts/mednext/tasks';
import { findTask } from '../lib/inference/runtime.js';
import { protocolFor, protocolLabel } from '../lib/inference/scoring.js';
import { StepProgress } from '../lib/step-progress.js';

/** NIfTI files directly in `dir` or one folder below (BraTS case folders). */
async function listNifti(dir: string, depth = 1): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && depth > 0) out.push(...(await listNifti(full, depth - 1)));
    else if (entry.isFile() && /\.nii(\.gz)?$/i.test(entry.name)) out.push(full);
  }
  return out.sort();
}

async function isDirectory(p: string, flag: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    throw new Error(`--${flag} ${p}: no such file or folder`);
  }
}

async function loadLabels(file: string) {
  const image = await readNifti(file);
  const { data, shape } = image.toVolume();
  return { data, shape, spacing: affineSpacing(image) };
}

/** A prediction with no tumour on the ground truth's grid: how a missing prediction is scored (the worst case). */
function emptyPrediction(gt: Awaited<ReturnType<typeof loadLabels>>) {
  return { data: new Float32Array(gt.data.length), shape: gt.shape, spacing: gt.spacing };
}

/** One case to score; `pred` is null for a missing prediction scored as empty. */
interface CasePair {
  id: string;
  gt: string;
  pred: string | null;
}

/** `<ID>_probabilities.nii.gz`, as `mednext predict --save-probabilities` names them. */
const PROBABILITIES = /_probabilities\.nii(\.gz)?$/i;

/** The task's input images among `files` (they sit next to the label maps in case folders and are no label maps). */
function isTaskImage(file: string, task: TaskDefinition): boolean {
  const base = path.basename(file);
  const naming = taskNaming(task);
  return task.modalities.some((m, i) => imageFilePattern(naming, m, i).test(base));
}

/** `mednext evaluate`: a task's evaluation protocol on predictions against ground truth. */
export default class Evaluate extends Command {
  static override summary = 'Score segmentations with BraTS 2024 lesion-wise metrics.';

  static override description =
    "Score predicted segmentations against ground truth with the task's evaluation protocol: lesion-wise Dice and " +
    'HD95, whole-region (legacy) Dice/HD95, sensitivity, specificity and TP/FP/FN lesion counts per region. Tasks ' +
    'ssa and ped use the BraTS 2024 protocols and reproduce the official evaluation code, quirks included (see ' +
    '--corrected); other tasks are scored over their own regions with the lesion-matching parameters they declare. ' +
    'Cases are paired by case ID (e.g. BraTS-SSA-00002-000-seg.nii.gz with BraTS-SSA-00002-000.nii.gz); spacing ' +
    'is taken from the prediction, as the official code does.';

  static override examples = [
    '<%= config.bin %> evaluate --task ssa --labels data/val/ --pred preds/ --out metrics.csv',
    '<%= config.bin %> evaluate --task ped --labels BraTS-PED-00030-000-seg.nii.gz --pred BraTS-PED-00030-000.nii.gz --out-json metrics.json',
  ];

  static override flags = {
    task: Flags.string({
      description: 'task id (any registered task, see mednext tasks): its label convention and evaluation protocol',
      required: true,
    }),
    labels: Flags.string({
      description: 'ground-truth label map, or a folder of them (case folders allowed)',
      required: true,
      aliases: ['gt'],
      deprecateAliases: true,
    }),
    pred: Flags.string({ description: 'predicted label map, or a folder of them', required: true }),
    out: Flags.string({ description: 'write the Synapse score table (official column names) as CSV' }),
    'out-json': Flags.string({
      description: 'write per-case regions and lesion tables as JSON to this file',
      aliases: ['json'],
      deprecateAliases: true,
    }),
    corrected: Flags.boolean({
      description:
        'fix the official quirks that are bugs (legacy HD95 and sensitivity/specificity on binary masks, prediction ' +
        'size filter in mm³, transitive ET/NETC merge); the numbers then differ from the official ones',
      default: false,
    }),
    'allow-unknown-labels': Flags.boolean({
      description: 'treat label values the task does not define as background (official behaviour) instead of failing',
      default: false,
    }),
    missing: Flags.string({
      description:
        'a ground-truth case without prediction: score it as an empty prediction (the worst case, as the challenge ' +
        'does), skip it (the mean is then over fewer cases), or fail',
      options: ['empty', 'skip', 'error'],
      default: 'empty',
    }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Evaluate);
    const task = await findTask(this.config, flags.task);
    const protocol = protocolFor(task);
    const gtIsDir = await isDirectory(flags.labels, 'labels');
    const predIsDir = await isDirectory(flags.pred, 'pred');
    let pairs: CasePair[];
    if (!gtIsDir && !predIsDir) {
      const id = caseIdOf(flags.pred) ?? path.basename(flags.pred);
      pairs = [{ id, gt: flags.labels, pred: flags.pred }];
    } else {
      const gtFiles = gtIsDir ? (await listNifti(flags.labels)).filter((f) => !isTaskImage(f, task)) : [flags.labels];
      const found = pairCases(
        gtFiles,
        // Probability maps saved next to the predictions (predict --save-probabilities) are no label maps.
        predIsDir ? (await listNifti(flags.pred)).filter((f) => !PROBABILITIES.test(f)) : [flags.pred],
      );
      for (const id of found.missingGt) this.warn(`case ${id}: no ground truth in ${flags.labels}; skipped`);
      for (const d of found.duplicates) this.warn(`several files for ${d}; using the first`);
      pairs = found.pairs;
      const missing = found.missingPrediction;
      if (missing.length > 0 && flags.missing === 'error') {
        this.error(
          `${missing.length} case(s) have no prediction in ${flags.pred}: ${missing.join(', ')} ` +
            '(--missing empty scores them as empty predictions, --missing skip leaves them out); nothing written',
          { exit: 1 },
        );
      }
      for (const id of missing) {
        if (flags.missing === 'skip') {
          this.logToStderr(
            `warning: case ${id}: no prediction in ${flags.pred}; skipped (--missing skip: the mean is over fewer cases)`,
          );
        } else {
          this.logToStderr(
            `warning: case ${id}: no prediction in ${flags.pred}; scored as an empty prediction (--missing skip or error to change this)`,
          );
          pairs.push({ id, gt: gtFiles.find((f) => caseIdOf(f) === id)!, pred: null });
        }
      }
      pairs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }
    if (pairs.length === 0)
      this.error(`no cases to evaluate: nothing pairs ${flags.labels} with ${flags.pred}`, { exit: 2 });

    // A bar with ETA on a terminal, else a line at the first case, every few seconds and at the end (as
    // tune-postprocess and predict report their long steps).
    const progress = new StepProgress('evaluate', pairs.length, {
      enabled: !flags.quiet,
      log: (line) => this.logToStderr(line),
    });
    const results: Array<CasePair & { result: CaseMetrics }> = [];
    const failures: Array<{ id: string; error: string }> = [];
    for (const [i, pair] of pairs.entries()) {
      try {
        const [gt, loadedPred] = await Promise.all([loadLabels(pair.gt), pair.pred ? loadLabels(pair.pred) : null]);
        const pred = loadedPred ?? emptyPrediction(gt);
        const result = evaluateCase({
          gt,
          pred,
          task: protocol,
          id: pair.id,
          corrected: flags.corrected,
          allowUnknownLabels: flags['allow-unknown-labels'],
        });
        results.push({ ...pair, result });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.push({ id: pair.id, error: message.includes(pair.id) ? message : `case ${pair.id}: ${message}` });
      }
      progress.update(i + 1, pair.id);
    }
    progress.stop();

    const empty = results.filter((r) => r.pred === null).length;
    if (results.length > 0) this.log(this.summaryTable(task.id, protocol, results, flags.corrected, empty));
    // A score table must not look complete when it is not: the CSV (whose mean rows would silently be over fewer
    // cases) is only written when every case was scored; the JSON says which cases failed and that it is partial.
    if (flags.out) {
      if (failures.length === 0) {
        await writeFileAtomic(flags.out, synapseCsv(results));
        this.log(`scores written to ${flags.out}`);
      } else {
        this.logToStderr(`${flags.out} not written: ${failures.length} case(s) could not be scored`);
      }
    }
    if (flags['out-json']) {
      const doc = {
        task: task.id,
        protocol: protocol.name,
        corrected: flags.corrected,
        complete: failures.length === 0,
        cases: results.map((r) => ({
          id: r.id,
          gt: r.gt,
          pred: r.pred,
          ...(r.pred === null ? { missingPrediction: 'scored as empty' } : {}),
          spacing: r.result.spacing,
          regions: r.result.regions,
          lesions: r.result.lesions,
        })),
        failed: failures,
      };
      await writeFileAtomic(flags['out-json'], JSON.stringify(doc, null, 2) + '\n');
      this.log(
        `case details written to ${flags['out-json']}${failures.length > 0 ? ' (incomplete: see "failed")' : ''}`,
      );
    }
    if (failures.length > 0) {
      for (const f of failures) this.logToStderr(`error: ${f.error}`);
      this.error(`${failures.length} of ${pairs.length} case(s) could not be evaluated`, { exit: 1 });
    }
  }

  private summaryTable(
    taskId: string,
    protocol: EvaluationProtocol,
    results: Array<{ result: CaseMetrics }>,
    corrected: boolean,
    empty: number,
  ): string {
    const regions = protocol.regions;
    const width = Math.max(6, ...regions.map((r) => r.length));
    const header = [
      'region'.padEnd(width),
      'metric'.padEnd(22),
      'mean'.padStart(9),
      'median'.padStart(9),
      'std'.padStart(9),
    ];
    const lines = [
      `${results.length} case(s), task ${taskId}, ${protocolLabel(protocol)} protocol${corrected ? ' (corrected, not the official numbers)' : ''}` +
        (empty > 0 ? `; ${empty} missing prediction(s) scored as empty` : ''),
      header.join('  '),
    ];
    for (const region of regions) {
      for (const metric of SUMMARY_METRICS) {
        const s = summarize(results.map((r) => r.result.regions[region]![metric]));
        lines.push(
          [
            region.padEnd(width),
            metric.padEnd(22),
            formatMetric(s.mean).padStart(9),
            formatMetric(s.median).padStart(9),
            formatMetric(s.std).padStart(9),
          ].join('  '),
        );
      }
    }
    return lines.join('\n');
  }
}
