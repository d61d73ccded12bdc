import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Args, Command, Flags } from '@oclif/core';
import { normalizationFromRecord, resolveShard, segmentCase, selectShard, taskNaming } from '@mednext-ts/mednext';
import {
  loadCaseInput,
  loadInferenceModel,
  probabilityFileName,
  resolveCaseInputs,
  segmentationFileName,
  writeProbabilities,
  writeSegmentation,
  type CaseInput,
  type ProbabilityFormat,
} from '@mednext-ts/mednext/node';
import type { BackendPreference } from '@mednext-ts/tensor3d';
import { BACKEND_CHOICES, Progress, findTask, setupBackend } from '../lib/inference/runtime.js';
import { exists, summarise, writeOverlays } from '../lib/inference/case-output.js';
import { checkModelsAgainstTask, type LoadedModel } from '../lib/inference/models.js';
import { describePostprocess, parsePatchSize, parseWeights, postprocessFromFlags } from '../lib/inference/options.js';

/** `mednext predict`: MRI in, BraTS segmentation out. */
export default class Predict extends Command {
  static override description =
    'Segment BraTS cases with one checkpoint or an ensemble: preprocessing as in training, sliding-window inference ' +
    '(optionally with mirror TTA), probability averaging, per-region thresholds and minimum component sizes, and the ' +
    'label map written as <ID>.nii.gz with the input geometry. Cases whose output exists are skipped, so an interrupted ' +
    'run or a cluster array job (--shard, SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX) finishes without doing anything twice.';

  static override examples = [
    '<%= config.bin %> predict BraTS-SSA-00002-000/ --model fold0.safetensors --out preds/',
    '<%= config.bin %> predict data/val/ -m f0.safetensors -m f1.safetensors -m f2.safetensors --tta --overlap 0.7 --out preds/ --save-probabilities uint8',
    '<%= config.bin %> predict a-t1n.nii.gz a-t1c.nii.gz a-t2w.nii.gz a-t2f.nii.gz -m model.safetensors --out preds/ --overlay',
    '<%= config.bin %> predict data/val/ -m model.safetensors --out preds/ --shard 3/8',
  ];

  static override strict = false;

  static override args = {
    input: Args.string({
      description: 'a case folder, a folder of case folders, or one NIfTI file per modality',
      required: true,
    }),
  };

  static override flags = {
    out: Flags.string({ char: 'o', description: 'output folder (created if needed)', required: true }),
    model: Flags.string({
      char: 'm',
      description: 'checkpoint (.safetensors); repeat for an ensemble',
      required: true,
      multiple: true,
    }),
    weights: Flags.string({ description: 'ensemble weights, one per --model, comma-separated (default equal)' }),
    task: Flags.string({ description: "task id (default: the checkpoint's task)" }),
    overlap: Flags.string({ description: 'sliding-window overlap in [0, 1)', default: '0.5' }),
    blend: Flags.string({ description: 'window blending', options: ['gaussian', 'constant'], default: 'gaussian' }),
    'sw-batch': Flags.integer({ description: 'windows per forward pass', default: 1, min: 1 }),
    tta: Flags.boolean({ description: 'mirror test-time augmentation over the 8 flips (8x slower)' }),
    'patch-size': Flags.string({
      description: "sliding-window size, e.g. 128x160x112 (default: the checkpoint's training patch)",
    }),
    thresholds: Flags.string({
      description: 'per-region thresholds, e.g. ET=0.7,TC=0.7,WT=0.5 (or one number for all)',
    }),
    'min-size': Flags.string({ description: 'per-region minimum component sizes in voxels, e.g. ET=50,TC=75,WT=250' }),
    postprocess: Flags.string({
      description:
        'postprocessing config JSON (as written by mednext tune-postprocess); --thresholds/--min-size override it',
    }),
    'save-probabilities': Flags.string({
      description:
        'also write <ID>_probabilities.nii.gz (4-D, one volume per region) for mednext ensemble / tune-postprocess',
      options: ['uint8', 'uint16', 'float32'],
    }),
    overlay: Flags.boolean({
      description:
        'write <ID>_{axial,coronal,sagittal}.png: slices through the tumour centre with the labels over each modality',
    }),
    shard: Flags.string({
      description:
        'process shard I of N (I/N, 0-based): every N-th case; default from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX',
    }),
    overwrite: Flags.boolean({ description: 'predict cases whose output already exists (default: skip them)' }),
    threads: Flags.integer({
      description: 'worker threads of the WebAssembly SIMD kernels on the CPU backends (default: cores, at most 4)',
      min: 1,
    }),
    backend: Flags.string({ description: 'compute backend', options: [...BACKEND_CHOICES], default: 'auto' }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Predict);
    const overlap = Number(flags.overlap);
    if (!(overlap >= 0 && overlap < 1)) this.error(`--overlap must be in [0, 1), got ${flags.overlap}`);
    const weights = parseWeights(flags.weights, flags.model.length);
    const patchSize = parsePatchSize(flags['patch-size']);
    const backend = await setupBackend(flags.backend as BackendPreference, flags.threads);
    if (!flags.quiet) this.logToStderr(`backend: ${backend.backend} (${backend.reason})`);

    const models: LoadedModel[] = [];
    for (const file of flags.model) models.push(await loadInferenceModel(file, { patchSize }));
    const taskId = flags.task ?? models[0]!.info.task;
    if (!taskId) this.error(`${flags.model[0]} does not record its task; pass --task`);
    for (const m of models) {
      if (m.info.task && m.info.task !== taskId)
        this.error(`${m.name} was trained for task '${m.info.task}', not '${taskId}'`);
    }
    const task = await findTask(this.config, taskId);
    try {
      checkModelsAgainstTask(models, task);
    } catch (error) {
      this.error((error as Error).message);
    }
    const modalities = models[0]!.info.modalities ?? task.modalities;
    // Inputs are normalised as the checkpoints record (what training did), not as the task says today.
    const normalization = recordedNormalization(models, modalities);
    const settings = await postprocessFromFlags(task, flags);
    const shard = resolveShard(flags.shard, process.env);
    const all = await resolveCaseInputs(argv as string[], modalities, taskNaming(task));
    const cases = selectShard(all, shard, (c: CaseInput) => c.id);
    await mkdir(flags.out, { recursive: true });
    if (!flags.quiet) {
      this.logToStderr(
        `task ${task.id}; ${models.length} model(s), patch ${models.map((m) => m.patchSize.join('x')).join(', ')}; overlap ${overlap}, ${flags.blend}${flags.tta ? ', TTA' : ''}`,
      );
      this.logToStderr(`postprocessing: ${describePostprocess(settings)}`);
      this.logToStderr(
        `${cases.length} case(s)${shard ? ` in shard ${shard.index}/${shard.count} (from ${shard.source}) of ${all.length}` : ''} -> ${flags.out}`,
      );
    }

    const progress = new Progress(!flags.quiet, (line) => this.logToStderr(line));
    progress.cases(cases.length);
    let done = 0;
    let skipped = 0;
    const failed: string[] = [];
    for (const [i, input] of cases.entries()) {
      progress.caseStart(i, cases.length, input.id);
      const outFile = path.join(flags.out, segmentationFileName(input.id));
      if (!flags.overwrite && (await exists(outFile))) {
        skipped++;
        progress.caseDone(i, `${input.id}: output exists, skipped`);
        continue;
      }
      try {
        const started = performance.now();
        const loaded = await loadCaseInput(input, modalities, taskNaming(task));
        const result = await segmentCase(
          { id: loaded.id, image: loaded.image, modalities: loaded.modalities, spacing: loaded.image.spacing },
          task,
          models,
          settings,
          {
            overlap,
            blend: flags.blend as 'gaussian' | 'constant',
            swBatch: flags['sw-batch'],
            tta: flags.tta,
            weights,
            normalization,
            onProgress: (m, d, t) => progress.windows(m, models.length, d, t),
          },
        );
        if (flags['save-probabilities']) {
          await writeProbabilities(
            path.join(flags.out, probabilityFileName(input.id)),
            result.probabilities,
            loaded.reference,
            flags['save-probabilities'] as ProbabilityFormat,
            {
              task: task.id,
              regions: task.regions.map((r) => r.name),
              models: models.map((m, k) => ({ file: m.name, weight: weights?.[k] ?? 1 })),
            },
          );
        }
        if (flags.overlay) await writeOverlays(flags.out, input.id, loaded.image, result.labels, task);
        // The segmentation is written last: its presence marks the case as complete for --shard reruns.
        await writeSegmentation(outFile, result.labels, result.shape, loaded.reference);
        done++;
        progress.caseDone(
          i,
          `${input.id}: ${summarise(result.labels, task)} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
      } catch (error) {
        // One unreadable or empty case must not stop a cluster shard: report it, go on, fail at the end.
        failed.push(`${input.id}: ${(error as Error).message}`);
        progress.caseDone(i, `${input.id}: FAILED (${(error as Error).message})`);
      }
    }
    progress.stop();
    for (const m of models) m.dispose?.();
    if (!flags.quiet)
      this.logToStderr(`done: ${done} predicted, ${skipped} skipped (output existed), ${failed.length} failed`);
    if (failed.length > 0) this.error(`${failed.length} case(s) failed:\n${failed.join('\n')}`, { exit: 1 });
  }
}

/** The input normalisation the ensemble members record; they must agree (one preprocessing feeds them all). */
function recordedNormalization(models: readonly LoadedModel[], modalities: readonly string[]) {
  const [first, ...rest] = models.map((m) => ({
    name: m.name,
    methods: normalizationFromRecord(m.info.normalization, modalities, m.name),
  }));
  for (const other of rest) {
    if (JSON.stringify(other.methods) !== JSON.stringify(first!.methods))
      throw new Error(
        `${other.name} normalises its inputs with ${JSON.stringify(other.methods)}, ${first!.name} with ${JSON.stringify(first!.methods)}; ensemble members must agree`,
      );
  }
  return first!.methods;
}
