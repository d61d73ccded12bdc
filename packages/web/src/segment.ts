/**
 * One case, from the files the user gave to the segmentation file, inside the worker. Every step is the
 * CLI's own code from @mednext-ts/mednext, io-nifti and metrics (file matching, checkpoint loading and
 * checks, preprocessing, sliding window, ensembling, postprocessing, NIfTI writing, lesion-wise scoring),
 * so the page and `mednext predict` / `mednext evaluate` give the same results.
 */
import { affineSpacing, assembleBratsCase, decodeNifti, encodeNifti, type NamedImage } from '@mednext-ts/io-nifti';
import {
  checkModelsAgainstTask,
  describeInferredConfig,
  inferenceModelFromBytes,
  isZip,
  matchCaseFiles,
  parseRegionValues,
  probabilityImage,
  recordedNormalization,
  resolvePostprocess,
  segmentCase,
  segmentationImage,
  taskEvaluationProtocol,
  type CheckpointModel,
  type InflateRaw,
} from '@mednext-ts/mednext';
import { evaluateCase } from '@mednext-ts/metrics';
import { defaultThreads, setupEngine } from './engine.js';
import type { NamedBytes, SegmentRequest, SegmentResult, WorkerMessage } from './protocol.js';
import { findTask } from './tasks.js';

/** Parses the ensemble weights field (same rules as `mednext predict --weights`). */
function parseWeights(text: string, count: number): number[] | undefined {
  if (text.trim() === '') return undefined;
  const weights = text.split(',').map((s) => Number(s.trim()));
  if (weights.length !== count) throw new Error(`weights: ${weights.length} value(s) for ${count} model(s)`);
  for (const w of weights)
    if (!(w > 0) || !Number.isFinite(w))
      throw new Error(`weights: every weight must be a positive number, got '${text}'`);
  return weights;
}

/**
 * A synchronous raw-DEFLATE decoder for compressed entries of PyTorch zip checkpoints (`torch.save`
 * stores its entries, but a re-zipped file may deflate them). Loaded only when a zip checkpoint is given,
 * so the page's first load does not carry it.
 */
async function zipInflater(): Promise<InflateRaw> {
  const { inflateSync } = await import('fflate');
  return (data) => inflateSync(data);
}

/**
 * Loads the checkpoints and the task: `taskId` when given (as `mednext predict --task`), else the one the
 * first checkpoint records, which all must share. A PyTorch / Lightning checkpoint records no task, so it
 * needs `taskId`; its architecture is inferred from its tensors and its window is the task's `windowSize`.
 */
async function loadModels(models: readonly NamedBytes[], taskId: string | undefined) {
  if (models.length === 0) throw new Error('no model given');
  const requested = taskId ? findTask(taskId) : undefined;
  const loaded: CheckpointModel[] = [];
  try {
    for (const m of models) {
      const bytes = new Uint8Array(m.bytes);
      const zip = isZip(bytes);
      if (zip && !requested)
        throw new Error(
          `${m.name} is a PyTorch checkpoint, which records no task; choose the task (ssa-paper or ped-paper for the seed paper's released models)`,
        );
      loaded.push(
        inferenceModelFromBytes(bytes, m.name, {
          ...(requested?.windowSize ? { defaultPatchSize: requested.windowSize } : {}),
          ...(zip ? { inflateRaw: await zipInflater() } : {}),
        }),
      );
    }
    const chosen = requested?.id ?? loaded[0]!.info.task;
    if (!chosen) throw new Error(`${loaded[0]!.name} does not record its task; choose the task`);
    for (const m of loaded) {
      if (m.info.task && m.info.task !== chosen)
        throw new Error(`${m.name} was trained for task '${m.info.task}', not '${chosen}'`);
    }
    const task = requested ?? findTask(chosen);
    checkModelsAgainstTask(loaded, task);
    return { models: loaded, task };
  } catch (error) {
    for (const m of loaded) m.dispose?.();
    throw error;
  }
}

/** One line per model for the page's model status: its window, and the architecture inferred from a PyTorch file. */
function describeModel(model: CheckpointModel): string {
  const window = `window ${model.patchSize.join('x')}`;
  return model.info.inferred
    ? `${model.name}: ${describeInferredConfig(model.info.inferred)}, ${window}`
    : `${model.name}: ${window}`;
}

/** Runs `request`, reporting stages and window progress through `post`. */
export async function segmentRequest(
  request: SegmentRequest,
  post: (message: WorkerMessage) => void,
): Promise<SegmentResult> {
  const started = performance.now();
  const options = request.options;
  post({ type: 'stage', text: 'starting the WebAssembly engine' });
  const engine = await setupEngine(options.threads ?? defaultThreads(), options.fma);
  post({ type: 'stage', text: `loading ${request.models.length} model(s)` });
  const { models, task } = await loadModels(request.models, request.task);
  try {
    post({ type: 'models', taskId: task.id, descriptions: models.map(describeModel) });
    const warnings: string[] = [];
    const modalities = models[0]!.info.modalities ?? task.modalities;
    const names = task.regions.map((r) => r.name);
    const settings = resolvePostprocess(task, undefined, {
      thresholds: options.thresholds.trim() ? parseRegionValues(options.thresholds, names, 'thresholds') : undefined,
      minSizes: options.minSizes.trim() ? parseRegionValues(options.minSizes, names, 'minimum sizes') : undefined,
    });
    const weights = parseWeights(options.weights, models.length);
    if (!(options.overlap >= 0 && options.overlap < 1))
      throw new Error(`overlap must be in [0, 1), got ${options.overlap}`);

    post({ type: 'stage', text: 'reading the images' });
    const match = matchCaseFiles(
      request.files.map((f) => f.name),
      modalities,
    );
    const id = match.id || request.fallbackId || 'case';
    const decode = async (f: NamedBytes) => decodeNifti(new Uint8Array(f.bytes), { file: f.name });
    const images: NamedImage[] = [];
    for (const [k, m] of modalities.entries()) {
      const file = request.files[match.modalities[k]!]!;
      images.push({ name: m, file: file.name, image: await decode(file) });
    }
    const labelFile = match.label === undefined ? undefined : request.files[match.label]!;
    const seg = labelFile && { name: 'seg', file: labelFile.name, image: await decode(labelFile) };
    // Same geometry checks as the CLI: every modality (and the label map) on the first one's grid.
    const loaded = assembleBratsCase(id, images, seg);
    const loadSeconds = (performance.now() - started) / 1000;

    post({ type: 'stage', text: 'segmenting' });
    const t0 = performance.now();
    const result = await segmentCase(
      { id, image: loaded.image, modalities: loaded.modalities, spacing: loaded.image.spacing },
      task,
      models,
      settings,
      {
        overlap: options.overlap,
        tta: options.tta,
        weights,
        // As `mednext predict`: the normalisation the checkpoints record (what training did).
        normalization: recordedNormalization(models, modalities),
        onWarning: (message) => warnings.push(message),
        onProgress: (model, done, total) => post({ type: 'progress', model, models: models.length, done, total }),
      },
    );
    const inferenceSeconds = (performance.now() - t0) / 1000;

    post({ type: 'stage', text: 'writing the segmentation' });
    const segmentation = await encodeNifti(segmentationImage(result.labels, result.shape, loaded.reference), {
      gzip: true,
    });
    const probabilities =
      options.probabilities === 'none'
        ? undefined
        : await encodeNifti(probabilityImage(result.probabilities, loaded.reference, options.probabilities, names), {
            gzip: true,
          });
    const metrics =
      loaded.label &&
      evaluateCase({
        gt: loaded.label,
        // As `mednext evaluate`: the spacing of the prediction file, i.e. of its (the input's) affine.
        pred: { data: result.labels, shape: result.shape, spacing: affineSpacing(loaded.reference) },
        task: taskEvaluationProtocol(task),
        id,
      });
    const voxelCounts: Record<number, number> = {};
    const [, ny, nz] = result.shape;
    const sum = [0, 0, 0];
    let foreground = 0;
    for (let n = 0; n < result.labels.length; n++) {
      const v = result.labels[n]!;
      voxelCounts[v] = (voxelCounts[v] ?? 0) + 1;
      if (v === 0) continue;
      foreground++;
      sum[0]! += Math.floor(n / (ny * nz));
      sum[1]! += Math.floor(n / nz) % ny;
      sum[2]! += n % nz;
    }
    const centre =
      foreground > 0 ? (sum.map((s) => Math.round(s / foreground)) as [number, number, number]) : undefined;
    return {
      type: 'result',
      id,
      taskId: task.id,
      labels: task.labels.map((l) => ({ value: l.value, name: l.name })),
      segmentation: { name: `${id}.nii.gz`, bytes: segmentation.buffer as ArrayBuffer },
      ...(probabilities
        ? { probabilities: { name: `${id}_probabilities.nii.gz`, bytes: probabilities.buffer as ArrayBuffer } }
        : {}),
      modalities: match.modalities.map((i) => request.files[i]!),
      ...(labelFile ? { labelMap: labelFile } : {}),
      ...(metrics ? { metrics } : {}),
      voxelCounts,
      ...(centre ? { centre } : {}),
      backend: engine.backend,
      threads: engine.threads,
      fma: engine.fma,
      ignored: match.ignored.map((i) => request.files[i]!.name),
      warnings,
      seconds: { load: loadSeconds, inference: inferenceSeconds, total: (performance.now() - started) / 1000 },
    };
  } finally {
    for (const m of models) m.dispose?.();
  }
}
