import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Args, Command, Flags } from '@oclif/core';
import { readNifti } from '@mednext-ts/io-nifti/node';
import {
  labelFileName,
  resolvePostprocess,
  taskNaming,
  tunePostprocess,
  type InputNaming,
  type PostprocessConfig,
  type TaskDefinition,
  type TuneCase,
} from '@mednext-ts/mednext';
import { readProbabilities, writeFileAtomic } from '@mednext-ts/mednext/node';
import { cropChannels, cropVolume, nonZeroBoundingBox, type BoundingBox, type Shape3 } from '@mednext-ts/tensor3d';
import { exists } from '../lib/inference/case-output.js';
import { probabilityCaseIds, probabilityPath } from '../lib/inference/probability-dirs.js';
import { findTask } from '../lib/inference/runtime.js';
import { protocolFor, protocolLabel, taskScorer } from '../lib/inference/scoring.js';
import { StepProgress } from '../lib/step-progress.js';

/** `mednext tune-postprocess`: grid search of thresholds and minimum sizes on cross-validation probabilities. */
export default class TunePostprocess extends Command {
  static override summary = 'Tune per-region thresholds and minimum sizes.';

  static override description =
    'Grid-search per-region thresholds and minimum component sizes on probability maps (from mednext predict ' +
    "--save-probabilities on held-out folds) against their ground truth, maximising the mean Dice of the task's " +
    "evaluation protocol (BraTS 2024 lesion-wise for ssa/ped, the task's own regions otherwise; mean HD95 breaks " +
    'ties); regions are tuned one after another with the others fixed. Writes a config that mednext predict/ensemble accept with --postprocess.';

  static override examples = [
    '<%= config.bin %> tune-postprocess cv-probs/ --labels data/train/ --out postprocess.json',
    '<%= config.bin %> tune-postprocess cv-probs/ --labels data/train/ --thresholds 0.4,0.5,0.6,0.7 --min-sizes 0,25,50,100 --out pp.json',
  ];

  static override args = {
    probs: Args.string({ description: 'folder of <ID>_probabilities.nii.gz', required: true }),
  };

  static override flags = {
    labels: Flags.string({
      description:
        "ground truth: a folder of case folders (<ID>/<ID>-seg.nii.gz, or the task's label naming) or of such files / <ID>.nii.gz",
      required: true,
    }),
    out: Flags.string({ char: 'o', description: 'config file to write (JSON)', required: true }),
    task: Flags.string({ description: 'task id (default: the one recorded with the probabilities)' }),
    thresholds: Flags.string({ description: 'threshold grid', default: '0.3,0.4,0.5,0.6,0.7,0.8' }),
    'min-sizes': Flags.string({ description: 'minimum-size grid in voxels', default: '0,10,25,50,75,100,150,250' }),
    passes: Flags.integer({ description: 'sweeps over the regions', default: 1, min: 1 }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(TunePostprocess);
    const thresholds = parseList(flags.thresholds, '--thresholds');
    const minSizes = parseList(flags['min-sizes'], '--min-sizes');
    const ids = await probabilityCaseIds(args.probs);
    const cases: TuneCase[] = [];
    let taskId = flags.task;
    let task: TaskDefinition | undefined;
    const minThreshold = Math.min(...thresholds);
    const log = (line: string) => this.logToStderr(line);
    const reading = new StepProgress('reading', ids.length, { enabled: !flags.quiet, log });
    for (const [k, id] of ids.entries()) {
      const { probabilities, sidecar } = await readProbabilities(probabilityPath(args.probs, id));
      taskId ??= sidecar.task;
      task ??= await findTask(this.config, taskId);
      const gtFile = await findLabelFile(flags.labels, id, taskNaming(task));
      const gt = (await readNifti(gtFile)).toCOrder();
      const [, nx, ny, nz] = probabilities.shape;
      if (gt.shape.join() !== [nx, ny, nz].join())
        this.error(`${gtFile}: shape [${gt.shape.join(', ')}] differs from the probabilities' [${nx}, ${ny}, ${nz}]`);
      // Only the neighbourhood of tumour and candidate voxels matters; cropping keeps memory small.
      const box = interestBox(probabilities.data, gt.data, [nx, ny, nz], minThreshold, 8);
      cases.push({
        id,
        probabilities: cropChannels(probabilities, box),
        labels: Uint8Array.from(cropVolume({ data: gt.data, shape: [nx, ny, nz] }, box).data),
        spacing: probabilities.spacing,
        fullShape: [nx, ny, nz],
      });
      reading.update(k + 1, id);
    }
    reading.stop();
    if (!task) this.error(`${args.probs}: no probability maps to tune on`);
    if (task.pipeline) {
      this.error(
        `task '${task.id}' uses the ${task.pipeline} pipeline, whose component rule tune-postprocess does not search; tune with its presets or a --postprocess file instead`,
      );
    }
    const protocol = protocolFor(task);
    const kind = protocol.score ?? 'lesion-wise';
    const start = resolvePostprocess(task);
    if (!flags.quiet)
      this.logToStderr(
        `${cases.length} case(s), task ${task.id} (${protocolLabel(protocol)} metrics over ${protocol.regions.join(', ')}); grid ${thresholds.length} thresholds x ${minSizes.length} sizes per region`,
      );
    let grid: StepProgress | undefined;
    const result = tunePostprocess(cases, task, { thresholds, minSizes }, taskScorer(task), start, {
      passes: flags.passes,
      onTrial: (t, i, total) => {
        grid ??= new StepProgress('grid', total, { enabled: !flags.quiet, log });
        grid.update(
          i,
          `${t.region} thr ${t.threshold} min ${t.minSize}: Dice ${t.score.dice.toFixed(4)} HD95 ${t.score.hd95.toFixed(2)}`,
        );
      },
    });
    grid?.stop();
    const config: PostprocessConfig = {
      task: task.id,
      regions: Object.fromEntries(result.settings.map((s) => [s.name, { threshold: s.threshold, minSize: s.minSize }])),
      note: `tuned on ${cases.length} case(s) from ${args.probs}: mean ${kind} Dice ${result.baseline.dice.toFixed(4)} -> ${result.score.dice.toFixed(4)}, HD95 ${result.baseline.hd95.toFixed(2)} -> ${result.score.hd95.toFixed(2)}`,
    };
    await writeFileAtomic(flags.out, JSON.stringify(config, null, 2) + '\n');
    this.log(
      `task defaults: mean ${kind} Dice ${result.baseline.dice.toFixed(4)}, HD95 ${result.baseline.hd95.toFixed(2)}`,
    );
    this.log(`tuned:         mean ${kind} Dice ${result.score.dice.toFixed(4)}, HD95 ${result.score.hd95.toFixed(2)}`);
    for (const s of result.settings) this.log(`  ${s.name.padEnd(5)} threshold ${s.threshold}  min size ${s.minSize}`);
    this.log(`wrote ${flags.out}`);
  }
}

function parseList(text: string, what: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v)))
    throw new Error(`${what}: expected comma-separated numbers, got '${text}'`);
  return values;
}

/** The ground-truth file of a case under `root`: the task's label naming in a case folder or flat, or `<ID>.nii.gz`. */
async function findLabelFile(root: string, id: string, naming: InputNaming): Promise<string> {
  const name = labelFileName(naming, id);
  const candidates = [
    ...new Set([
      path.join(root, id, name),
      path.join(root, name),
      path.join(root, `${id}.nii.gz`),
      path.join(root, id, name.replace(/\.gz$/, '')),
    ]),
  ];
  for (const c of candidates) if (await exists(c)) return c;
  const listing = (await readdir(root).catch(() => [] as string[])).slice(0, 5).join(', ');
  throw new Error(
    `no ground truth for case ${id} under ${root} (looked for ${candidates.map((c) => path.relative(root, c)).join(', ')}; folder starts with: ${listing || 'nothing'})`,
  );
}

/** Box around every voxel with a label or a probability >= `threshold` in any region, padded by `margin`. */
function interestBox(
  probs: Float32Array,
  labels: ArrayLike<number>,
  shape: Shape3,
  threshold: number,
  margin: number,
): BoundingBox {
  const [nx, ny, nz] = shape;
  const n = nx * ny * nz;
  const channels = probs.length / n;
  const interest = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let hit = labels[i] !== 0;
    for (let c = 0; !hit && c < channels; c++) hit = probs[c * n + i]! >= threshold;
    if (hit) interest[i] = 1;
  }
  const box = nonZeroBoundingBox([{ data: interest, shape }]);
  if (!box) return { start: [0, 0, 0], end: [Math.min(nx, 1), Math.min(ny, 1), Math.min(nz, 1)] };
  return {
    start: box.start.map((s) => Math.max(0, s - margin)) as Shape3,
    end: box.end.map((e, a) => Math.min(shape[a]!, e + margin)) as Shape3,
  };
}
