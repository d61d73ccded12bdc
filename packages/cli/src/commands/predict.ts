import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Args, Command, Flags } from '@oclif/core';
import {
  checkFiniteInput,
  describeCount,
  describeInferredConfig,
  onWebGpu,
  recordedNormalization,
  resolveShard,
  segmentCase,
  selectShard,
  taskNaming,
} from '@mednext-ts/mednext';
import {
  loadCaseInput,
  loadInferenceModel,
  probabilityFileName,
  REPAIR_NON_FINITE_FLAG,
  resolveCaseInputs,
  segmentationFileName,
  writeProbabilities,
  writeSegmentation,
  type CaseInput,
  type ProbabilityFormat,
} from '@mednext-ts/mednext/node';
import { orientationCodes } from '@mednext-ts/io-nifti';
import { removeStaleTemporaryFiles } from '@mednext-ts/io-nifti/node';
import type { BackendPreference } from '@mednext-ts/tensor3d';
import { BACKEND_CHOICES, Progress, findTask, setupBackend } from '../lib/inference/runtime.js';
import { chooseNetworkEngine } from '../lib/inference/network-engine.js';
import { exists, findTruthFile, readTruth, summarise, writeOverlays } from '../lib/inference/case-output.js';
import { checkModelsAgainstTask, type LoadedModel } from '../lib/inference/models.js';
import {
  describePostprocess,
  labelMappingFromFlag,
  parseChannelWeights,
  parsePatchSize,
  parseWeights,
  postprocessFromFlags,
} from '../lib/inference/options.js';
import { isPytorchCheckpoint } from '../lib/inference/models.js';
import { parseFolds, resolveModelPaths, type CheckpointChoice } from '../lib/inference/model-paths.js';

/** One case in the `--json` summary. */
interface CaseSummary {
  id: string;
  status: 'predicted' | 'skipped' | 'failed';
  segmentation?: string;
  seconds?: number;
  /** Voxels per label value of the written segmentation (background left out). */
  voxels?: Record<string, number>;
  error?: string;
}

/** Voxel count of every non-zero label. */
function labelVoxelCounts(labels: ArrayLike<number>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (v !== 0) counts[v] = (counts[v] ?? 0) + 1;
  }
  return counts;
}

/** `mednext predict`: MRI in, BraTS segmentation out. */
export default class Predict extends Command {
  static override summary = 'Segment cases with a checkpoint, a run or an ensemble.';

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
    '<%= config.bin %> predict data/val/ -m fold0.ckpt --task ssa-paper --tta --out preds/',
    '<%= config.bin %> predict data/val/ -m f0.ckpt -m f1.ckpt --task ped-paper --postprocess submission --out preds/',
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
      description:
        'checkpoint (.safetensors, or a PyTorch Lightning .ckpt / PyTorch .pth: architecture inferred, needs --task), fold folder (runs/a/fold_0) or run folder (runs/a: every fold); repeat for an ensemble',
      required: true,
      multiple: true,
    }),
    folds: Flags.string({ description: 'folds to take from run folders, e.g. 0,2 or 0-4 (default: all)' }),
    checkpoint: Flags.string({
      description: 'checkpoint of each fold folder: last (after the final epoch) or best (best validation Dice)',
      options: ['last', 'best'],
      default: 'last',
    }),
    weights: Flags.string({
      description:
        'ensemble weights, one per model, comma-separated (default equal); with a pipeline task such as ssa-paper, per-region groups like 1/0/0.5,1/1/1',
    }),
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
    'min-sizes': Flags.string({
      description: 'per-region minimum component sizes in voxels, e.g. ET=50,TC=75,WT=250',
      aliases: ['min-size'],
      deprecateAliases: true,
    }),
    postprocess: Flags.string({
      description:
        'postprocessing config JSON (as written by mednext tune-postprocess; per region threshold, minSize, and for ssa-paper/ped-paper minMeanProbability, maxComponents) or the name of a task preset (mednext tasks lists them, e.g. submission); --thresholds/--min-sizes override it',
    }),
    'label-mapping': Flags.string({
      description: "rewrite the written label values with one of the task's mappings (ped-paper: seed, adult-to-ped)",
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
    'overlay-style': Flags.string({
      description: 'overlay labels filled (translucent) or as outlines that leave the texture visible',
      options: ['fill', 'contour'],
      default: 'fill',
    }),
    labels: Flags.string({
      description:
        "ground truth for the overlays, drawn beside the prediction: a folder of <ID>-seg.nii.gz or case folders (default: the case folder's -seg file)",
    }),
    shard: Flags.string({
      description:
        'process shard I of N (I/N, 0-based): every N-th case; default from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX',
    }),
    overwrite: Flags.boolean({ description: 'predict cases whose output already exists (default: skip them)' }),
    'repair-non-finite': Flags.boolean({
      description:
        'set NaN/infinite input voxels to 0 (background) before normalisation and report how many; by default such a case fails',
    }),
    threads: Flags.integer({
      description: 'worker threads of the WebAssembly SIMD kernels on the CPU backends (default: cores, at most 4)',
      min: 1,
    }),
    backend: Flags.string({
      description:
        'compute backend; webgpu runs the network on the WebGPU engine, auto does so on a hardware GPU (not on software adapters such as llvmpipe or SwiftShader, where the CPU kernels are faster)',
      options: [...BACKEND_CHOICES],
      default: 'auto',
    }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress output' }),
    json: Flags.boolean({ description: 'print a JSON summary (settings and one entry per case) on stdout at the end' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Predict);
    const overlap = Number(flags.overlap);
    if (!(overlap >= 0 && overlap < 1)) this.error(`--overlap must be in [0, 1), got ${flags.overlap}`);
    const folds = flags.folds === undefined ? undefined : parseFolds(flags.folds);
    const modelFiles = await resolveModelPaths(flags.model, {
      folds,
      checkpoint: flags.checkpoint as CheckpointChoice,
    }).catch((error: Error) => this.error(error.message));
    if (folds && modelFiles.length === flags.model.length && flags.model.every((m, k) => modelFiles[k] === m))
      this.error('--folds picks folds of a run folder; no --model names one');
    const channelWeights = flags.weights?.includes('/') ? flags.weights : undefined;
    const weights = channelWeights ? undefined : parseWeights(flags.weights, modelFiles.length);
    const patchSize = parsePatchSize(flags['patch-size']);
    for (const file of modelFiles) {
      if (!flags.task && (await isPytorchCheckpoint(file))) {
        this.error(
          `${file} is a PyTorch checkpoint, which records no task; pass --task (ssa-paper or ped-paper for the seed paper's released models)`,
        );
      }
    }
    const requestedTask = flags.task ? await findTask(this.config, flags.task) : undefined;
    const engine = await chooseNetworkEngine(flags.backend as BackendPreference).catch((error: Error) =>
      this.error(error.message),
    );
    // With the WebGPU engine only the small tensor work outside the network is left to tfjs: the CPU backends.
    const backend = await setupBackend(
      engine.engine === 'webgpu' ? 'auto' : (flags.backend as BackendPreference),
      flags.threads,
    );
    if (!flags.quiet) {
      this.logToStderr(`backend: ${backend.backend} (${backend.reason})`);
      this.logToStderr(
        engine.engine === 'webgpu'
          ? `network: WebGPU engine on ${engine.adapter!.description} (${engine.reason})`
          : `network: ${backend.backend} (${engine.reason})`,
      );
    }

    const models: LoadedModel[] = [];
    for (const file of modelFiles) {
      let model = await loadInferenceModel(file, { patchSize, defaultPatchSize: requestedTask?.windowSize });
      if (model.info.inferred && !flags.quiet) {
        this.logToStderr(`${file}: ${describeInferredConfig(model.info.inferred)}`);
      }
      if (engine.engine === 'webgpu') model = await onWebGpu(model, { device: engine.device });
      models.push(model);
    }
    const taskId = flags.task ?? models[0]!.info.task;
    if (!taskId) this.error(`${modelFiles[0]} does not record its task; pass --task`);
    for (const m of models) {
      if (m.info.task && m.info.task !== taskId)
        this.error(`${m.name} was trained for task '${m.info.task}', not '${taskId}'`);
    }
    const task = requestedTask ?? (await findTask(this.config, taskId));
    try {
      checkModelsAgainstTask(models, task);
    } catch (error) {
      this.error((error as Error).message);
    }
    const modalities = models[0]!.info.modalities ?? task.modalities;
    // Inputs are normalised as the checkpoints record (what training did), not as the task says today.
    const normalization = recordedNormalization(models, modalities);
    let settings: Awaited<ReturnType<typeof postprocessFromFlags>>;
    let labelMapping: Record<number, number> | undefined;
    let perRegionWeights: number[][] | undefined;
    try {
      settings = await postprocessFromFlags(task, flags);
      labelMapping = labelMappingFromFlag(task, flags['label-mapping']);
      perRegionWeights = parseChannelWeights(channelWeights, models.length, task.regions.length);
    } catch (error) {
      this.error((error as Error).message);
    }
    const shard = resolveShard(flags.shard, process.env);
    const all = await resolveCaseInputs(argv as string[], modalities, taskNaming(task));
    const cases = selectShard(all, shard, (c: CaseInput) => c.id);
    await mkdir(flags.out, { recursive: true });
    const debris = await removeStaleTemporaryFiles(flags.out);
    if (!flags.quiet) {
      if (debris.length > 0)
        this.logToStderr(`removed ${debris.length} temporary file(s) left in ${flags.out} by an interrupted run`);
      this.logToStderr(
        `task ${task.id}${task.pipeline ? ` (${task.pipeline} pipeline)` : ''}; ${models.length} model(s), patch ${models.map((m) => m.patchSize.join('x')).join(', ')}; overlap ${overlap}, ${flags.blend}${flags.tta ? ', TTA' : ''}`,
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
    const summaries: CaseSummary[] = [];
    for (const [i, input] of cases.entries()) {
      progress.caseStart(i, cases.length, input.id);
      const outFile = path.join(flags.out, segmentationFileName(input.id));
      if (!flags.overwrite && (await exists(outFile))) {
        skipped++;
        summaries.push({ id: input.id, status: 'skipped', segmentation: outFile });
        progress.caseDone(i, `${input.id}: output exists, skipped`);
        continue;
      }
      try {
        const started = performance.now();
        const loaded = await loadCaseInput(input, modalities, taskNaming(task));
        const repaired = checkFiniteInput(loaded, {
          policy: flags['repair-non-finite'] ? 'zero' : 'error',
          repairHint: `pass ${REPAIR_NON_FINITE_FLAG}`,
        });
        for (const r of repaired) this.logToStderr(`${input.id}: repaired ${describeCount(r)} (set to 0)`);
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
            ...(perRegionWeights ? { channelWeights: perRegionWeights } : {}),
            ...(labelMapping ? { labelMapping } : {}),
            onWarning: (message) => this.warn(message),
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
        if (flags.overlay) {
          const truthFile = await findTruthFile(input.id, 'dir' in input ? input.dir : undefined, flags.labels);
          await writeOverlays(flags.out, input.id, loaded.image, result.labels, task, {
            truth: truthFile ? await readTruth(truthFile, loaded.image.shape.slice(1)) : undefined,
            modalities: loaded.modalities,
            orientation: orientationCodes(loaded.reference.affine),
            style: flags['overlay-style'] as 'fill' | 'contour',
          });
        }
        // The segmentation is written last: its presence marks the case as complete for --shard reruns.
        await writeSegmentation(outFile, result.labels, result.shape, loaded.reference);
        done++;
        const seconds = (performance.now() - started) / 1000;
        summaries.push({
          id: input.id,
          status: 'predicted',
          segmentation: outFile,
          seconds: Number(seconds.toFixed(3)),
          voxels: labelVoxelCounts(result.labels),
        });
        progress.caseDone(i, `${input.id}: ${summarise(result.labels, task)} in ${seconds.toFixed(1)} s`);
      } catch (error) {
        // One unreadable or empty case must not stop a cluster shard: report it, go on, fail at the end.
        failed.push(`${input.id}: ${(error as Error).message}`);
        summaries.push({ id: input.id, status: 'failed', error: (error as Error).message });
        progress.caseDone(i, `${input.id}: FAILED (${(error as Error).message})`);
      }
    }
    progress.stop();
    for (const m of models) m.dispose?.();
    engine.device?.destroy();
    if (!flags.quiet)
      this.logToStderr(`done: ${done} predicted, ${skipped} skipped (output existed), ${failed.length} failed`);
    if (flags.json) {
      const summary = {
        task: task.id,
        models: models.map((m, k) => ({ file: modelFiles[k], weight: weights?.[k] ?? 1 })),
        out: flags.out,
        shard: shard ? { index: shard.index, count: shard.count, source: shard.source } : null,
        postprocess: settings,
        predicted: done,
        skipped,
        failed: failed.length,
        cases: summaries,
      };
      this.log(JSON.stringify(summary, null, 2));
    }
    if (failed.length > 0) this.error(`${failed.length} case(s) failed:\n${failed.join('\n')}`, { exit: 1 });
  }
}
