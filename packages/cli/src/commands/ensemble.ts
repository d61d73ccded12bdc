import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Args, Command, Flags } from '@oclif/core';
import { removeStaleTemporaryFiles } from '@mednext-ts/io-nifti/node';
import { ProbabilityAverager, labelsForTask, resolveShard, selectShard } from '@mednext-ts/mednext';
import {
  probabilityFileName,
  readProbabilities,
  segmentationFileName,
  writeProbabilities,
  writeSegmentation,
  type ProbabilityFormat,
} from '@mednext-ts/mednext/node';
import { exists, summarise } from '../lib/inference/case-output.js';
import { describePostprocess, parseWeights, postprocessFromFlags } from '../lib/inference/options.js';
import { probabilityCaseIds, probabilityPath } from '../lib/inference/probability-dirs.js';
import { findTask } from '../lib/inference/runtime.js';

/** `mednext ensemble PROB_DIRS... --out DIR`: redo ensembling from saved probability maps. */
export default class Ensemble extends Command {
  static override summary = 'Average saved probabilities of several models.';

  static override description =
    'Average the probability maps that `mednext predict --save-probabilities` wrote (one folder per model or per ensemble), ' +
    'postprocess and write <ID>.nii.gz per case. Every case must be present in every folder.';

  static override examples = [
    '<%= config.bin %> ensemble probs/fold0 probs/fold1 probs/fold2 probs/fold3 probs/fold4 --out ens/',
    '<%= config.bin %> ensemble probs/B probs/M --weights 1,2 --postprocess tuned.json --out ens/ --save-probabilities uint8',
  ];

  static override strict = false;

  static override args = {
    dirs: Args.string({ description: 'folders holding <ID>_probabilities.nii.gz (+ .json sidecars)', required: true }),
  };

  static override flags = {
    out: Flags.string({ char: 'o', description: 'output folder', required: true }),
    weights: Flags.string({ description: 'one weight per folder, comma-separated (default equal)' }),
    task: Flags.string({ description: 'task id (default: the one recorded in the sidecars)' }),
    thresholds: Flags.string({ description: 'per-region thresholds, e.g. ET=0.7,TC=0.7,WT=0.5' }),
    'min-sizes': Flags.string({
      description: 'per-region minimum component sizes in voxels',
      aliases: ['min-size'],
      deprecateAliases: true,
    }),
    postprocess: Flags.string({ description: 'postprocessing config JSON (from mednext tune-postprocess)' }),
    'save-probabilities': Flags.string({
      description: 'also write the averaged probabilities',
      options: ['uint8', 'uint16', 'float32'],
    }),
    shard: Flags.string({ description: 'process shard I of N (I/N); default from SLURM/Kubernetes array variables' }),
    overwrite: Flags.boolean({ description: 'redo cases whose output exists' }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Ensemble);
    const dirs = argv as string[];
    const weights = parseWeights(flags.weights, dirs.length);
    const idLists = await Promise.all(dirs.map((d) => probabilityCaseIds(d)));
    const ids = idLists[0]!;
    for (const [k, list] of idLists.entries()) {
      const missing = ids.filter((id) => !list.includes(id));
      const extra = list.filter((id) => !ids.includes(id));
      if (missing.length || extra.length) {
        this.error(
          `${dirs[k]} and ${dirs[0]} hold different cases (${[...missing.map((m) => `missing ${m}`), ...extra.map((e) => `extra ${e}`)].slice(0, 5).join(', ')})`,
        );
      }
    }
    const first = await readProbabilities(probabilityPath(dirs[0]!, ids[0]!));
    const task = await findTask(this.config, flags.task ?? first.sidecar.task);
    const regions = task.regions.map((r) => r.name);
    const settings = await postprocessFromFlags(task, flags);
    const cases = selectShard(ids, resolveShard(flags.shard, process.env));
    await mkdir(flags.out, { recursive: true });
    await removeStaleTemporaryFiles(flags.out);
    if (!flags.quiet)
      this.logToStderr(
        `${cases.length} case(s), ${dirs.length} member(s); task ${task.id}; ${describePostprocess(settings)}`,
      );
    let done = 0;
    for (const id of cases) {
      const outFile = path.join(flags.out, segmentationFileName(id));
      if (!flags.overwrite && (await exists(outFile))) continue;
      const averager = new ProbabilityAverager();
      let reference;
      for (const [k, dir] of dirs.entries()) {
        const file = probabilityPath(dir, id);
        const { probabilities, sidecar, reference: ref } = await readProbabilities(file);
        if (sidecar.regions.join(',') !== regions.join(','))
          this.error(
            `${file}: regions ${sidecar.regions.join(', ')} differ from task '${task.id}' (${regions.join(', ')})`,
          );
        averager.add(probabilities, weights?.[k] ?? 1);
        reference ??= ref;
      }
      const mean = averager.result();
      const [, nx, ny, nz] = mean.shape;
      const labels = labelsForTask(mean, task, settings);
      if (flags['save-probabilities']) {
        await writeProbabilities(
          path.join(flags.out, probabilityFileName(id)),
          mean,
          reference!,
          flags['save-probabilities'] as ProbabilityFormat,
          {
            task: task.id,
            regions,
            models: dirs.map((d, k) => ({ file: d, weight: weights?.[k] ?? 1 })),
          },
        );
      }
      await writeSegmentation(outFile, labels, [nx, ny, nz], reference!);
      done++;
      if (!flags.quiet) this.logToStderr(`${id}: ${summarise(labels, task)}`);
    }
    if (!flags.quiet) this.logToStderr(`done: ${done} written, ${cases.length - done} skipped (output existed)`);
  }
}
