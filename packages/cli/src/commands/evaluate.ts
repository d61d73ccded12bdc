import { stat, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Flags } from '@oclif/core';
import cliProgress from 'cli-progress';
import { affineSpacing } from '@mednext-ts/io-nifti';
import { readNifti } from '@mednext-ts/io-nifti/node';
import {
  caseIdOf,
  evaluateCase,
  pairCases,
  summarize,
  synapseCsv,
  TASKS,
  type CaseMetrics,
  type RegionMetrics,
  type TaskName,
} from '@mednext-ts/metrics';

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

/** Metrics of the summary table, in display order. */
const SUMMARY_METRICS: Array<keyof RegionMetrics> = [
  'LesionWise_Score_Dice',
  'LesionWise_Score_HD95',
  'Legacy_Dice',
  'Legacy_HD95',
  'Sensitivity',
  'Specificity',
  'Num_TP',
  'Num_FP',
  'Num_FN',
];

function fmt(v: number): string {
  if (Number.isNaN(v)) return '-';
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}

/** `mednext evaluate`: BraTS 2024 lesion-wise metrics of predictions against ground truth. */
export default class Evaluate extends Command {
  static override description =
    'Score predicted segmentations against ground truth with the BraTS 2024 lesion-wise metrics (lesion-wise Dice and ' +
    'HD95, legacy Dice/HD95, sensitivity, specificity, TP/FP/FN lesion counts), reproducing the official evaluation ' +
    'code, quirks included (see --corrected). Cases are paired by BraTS ID (e.g. BraTS-SSA-00002-000-seg.nii.gz with ' +
    'BraTS-SSA-00002-000.nii.gz); spacing is taken from the prediction, as the official code does.';

  static override examples = [
    '<%= config.bin %> evaluate --task ssa --gt data/val/ --pred preds/ --out metrics.csv',
    '<%= config.bin %> evaluate --task ped --gt BraTS-PED-00030-000-seg.nii.gz --pred BraTS-PED-00030-000.nii.gz --json metrics.json',
  ];

  static override flags = {
    task: Flags.string({ description: 'label convention and parameters', options: ['ssa', 'ped'], required: true }),
    gt: Flags.string({
      description: 'ground-truth label map, or a folder of them (case folders allowed)',
      required: true,
    }),
    pred: Flags.string({ description: 'predicted label map, or a folder of them', required: true }),
    out: Flags.string({ description: 'write the Synapse score table (official column names) as CSV' }),
    json: Flags.string({ description: 'write per-case regions and lesion tables as JSON' }),
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
    quiet: Flags.boolean({ char: 'q', description: 'no progress output', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Evaluate);
    const task = flags.task as TaskName;
    const gtIsDir = await isDirectory(flags.gt, 'gt');
    const predIsDir = await isDirectory(flags.pred, 'pred');
    let pairs: Array<{ id: string; gt: string; pred: string }>;
    if (!gtIsDir && !predIsDir) {
      const id = caseIdOf(flags.pred) ?? path.basename(flags.pred);
      pairs = [{ id, gt: flags.gt, pred: flags.pred }];
    } else {
      const found = pairCases(
        gtIsDir ? await listNifti(flags.gt) : [flags.gt],
        predIsDir ? await listNifti(flags.pred) : [flags.pred],
      );
      for (const id of found.missingPrediction) this.warn(`case ${id}: no prediction in ${flags.pred}; skipped`);
      for (const id of found.missingGt) this.warn(`case ${id}: no ground truth in ${flags.gt}; skipped`);
      for (const d of found.duplicates) this.warn(`several files for ${d}; using the first`);
      pairs = found.pairs;
    }
    if (pairs.length === 0)
      this.error(`no cases to evaluate: nothing pairs ${flags.gt} with ${flags.pred}`, { exit: 2 });

    const bar =
      !flags.quiet && process.stderr.isTTY
        ? new cliProgress.SingleBar(
            { format: 'evaluate [{bar}] {value}/{total} {id}', stream: process.stderr, hideCursor: true },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
    bar?.start(pairs.length, 0, { id: '' });
    const results: Array<{ id: string; gt: string; pred: string; result: CaseMetrics }> = [];
    const failures: string[] = [];
    for (const [i, pair] of pairs.entries()) {
      bar?.update(i, { id: pair.id });
      if (!bar && !flags.quiet) this.logToStderr(`[${i + 1}/${pairs.length}] ${pair.id}`);
      try {
        const [gt, pred] = await Promise.all([loadLabels(pair.gt), loadLabels(pair.pred)]);
        const result = evaluateCase({
          gt,
          pred,
          task,
          id: pair.id,
          corrected: flags.corrected,
          allowUnknownLabels: flags['allow-unknown-labels'],
        });
        results.push({ ...pair, result });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.push(message.includes(pair.id) ? message : `case ${pair.id}: ${message}`);
      }
    }
    bar?.update(pairs.length, { id: '' });
    bar?.stop();

    if (results.length > 0) this.log(this.summaryTable(task, results, flags.corrected));
    if (flags.out) {
      await writeFile(flags.out, synapseCsv(results));
      this.log(`scores written to ${flags.out}`);
    }
    if (flags.json) {
      const doc = {
        task,
        corrected: flags.corrected,
        cases: results.map((r) => ({
          id: r.id,
          gt: r.gt,
          pred: r.pred,
          spacing: r.result.spacing,
          regions: r.result.regions,
          lesions: r.result.lesions,
        })),
        failed: failures,
      };
      await writeFile(flags.json, JSON.stringify(doc, null, 2) + '\n');
      this.log(`case details written to ${flags.json}`);
    }
    if (failures.length > 0) {
      for (const f of failures) this.logToStderr(`error: ${f}`);
      this.error(`${failures.length} of ${pairs.length} case(s) could not be evaluated`, { exit: 1 });
    }
  }

  private summaryTable(task: TaskName, results: Array<{ result: CaseMetrics }>, corrected: boolean): string {
    const regions = TASKS[task].regions;
    const header = ['region', 'metric'.padEnd(22), 'mean'.padStart(9), 'median'.padStart(9), 'std'.padStart(9)];
    const lines = [
      `${results.length} case(s), task ${task}${corrected ? ' (corrected, not the official numbers)' : ''}`,
      header.join('  '),
    ];
    for (const region of regions) {
      for (const metric of SUMMARY_METRICS) {
        const s = summarize(results.map((r) => r.result.regions[region]![metric]));
        lines.push(
          [
            region.padEnd(6),
            metric.padEnd(22),
            fmt(s.mean).padStart(9),
            fmt(s.median).padStart(9),
            fmt(s.std).padStart(9),
          ].join('  '),
        );
      }
    }
    return lines.join('\n');
  }
}
