/**
 * Messages between the page and the inference worker. Files travel as ArrayBuffers (transferred, not
 * copied); nothing leaves the browser.
 */
import type { CaseMetrics } from '@mednext-ts/metrics';

/** A file the user gave (or the built-in phantom), by name. */
export interface NamedBytes {
  name: string;
  bytes: ArrayBuffer;
}

/** Settings of one run; strings use the CLI's flag syntax (`ET=0.7,TC=0.7,WT=0.5` or one number). */
export interface SegmentOptions {
  /** Mirror test-time augmentation over the 8 flips (8x slower). */
  tta: boolean;
  /** Sliding-window overlap in [0, 1) (CLI default 0.5). */
  overlap: number;
  /** Per-region thresholds, as `mednext predict --thresholds` (empty: the task's defaults). */
  thresholds: string;
  /** Per-region minimum component sizes, as `mednext predict --min-size` (empty: the task's defaults). */
  minSizes: string;
  /** Ensemble weights, one per model, comma-separated (empty: equal). */
  weights: string;
  /** Kernel threads (default `navigator.hardwareConcurrency`, at most 8). */
  threads?: number;
  /**
   * Fused multiply-add in the WebAssembly kernels: `'auto'` uses relaxed SIMD where the browser has it;
   * `false` gives the exact arithmetic of runtimes without it (e.g. Node 20, for bit-identical comparisons).
   */
  fma: boolean | 'auto';
  /** Also produce `<ID>_probabilities.nii.gz` in this storage format. */
  probabilities: 'none' | 'uint8' | 'uint16' | 'float32';
}

/** Page → worker: segment one case. */
export interface SegmentRequest {
  type: 'segment';
  /** Every file given for the case (modalities, optional `-seg` label map, anything else is ignored). */
  files: NamedBytes[];
  /** Name used for the case when the file names carry no ID (e.g. the dropped folder's name). */
  fallbackId?: string;
  /** Checkpoints; several form an ensemble. */
  models: NamedBytes[];
  /**
   * Task id, as `mednext predict --task` (absent: the checkpoint's). Required for PyTorch / Lightning
   * checkpoints, which record none; its `windowSize` is then their sliding window.
   */
  task?: string;
  options: SegmentOptions;
}

/** Page → worker: build the built-in phantom case's files. */
export interface PhantomRequest {
  type: 'phantom';
}

/** Worker → page: the phantom's files (`<ID>-<modality>.nii.gz` and `<ID>-seg.nii.gz`). */
export interface PhantomFiles {
  type: 'phantom';
  files: NamedBytes[];
}

export type WorkerRequest = SegmentRequest | PhantomRequest;

/** Worker → page: sliding-window progress of ensemble member `model`. */
export interface ProgressMessage {
  type: 'progress';
  model: number;
  models: number;
  done: number;
  total: number;
}

/** Worker → page: a stage started (shown as the status line). */
export interface StageMessage {
  type: 'stage';
  text: string;
}

/** Worker → page: the checkpoints are loaded; one line per model (with what was inferred for PyTorch files). */
export interface ModelsMessage {
  type: 'models';
  taskId: string;
  descriptions: string[];
}

/** Worker → page: the result. */
export interface SegmentResult {
  type: 'result';
  id: string;
  taskId: string;
  /** Display names of the task's labels, by value. */
  labels: { value: number; name: string }[];
  /** `<ID>.nii.gz`: uint8 labels with the input's exact geometry. */
  segmentation: NamedBytes;
  probabilities?: NamedBytes;
  /** Modality files in channel order (for the viewer) and the label map given, if any. */
  modalities: NamedBytes[];
  labelMap?: NamedBytes;
  /** Lesion-wise metrics, when a label map was given. */
  metrics?: CaseMetrics;
  /** Centre of the predicted tumour in voxel indices (i, j, k), absent when nothing was found. */
  centre?: [number, number, number];
  /** Voxels per label value in the prediction. */
  voxelCounts: Record<number, number>;
  backend: string;
  threads: number;
  fma: boolean;
  /** Names of the files that were not used. */
  ignored: string[];
  /** Warnings of the run (e.g. the seed pipeline's int16 wrap), as `mednext predict` prints them. */
  warnings: string[];
  seconds: { load: number; inference: number; total: number };
}

/** Worker → page: the run failed; `message` names the file and the problem. */
export interface ErrorMessage {
  type: 'error';
  message: string;
}

export type WorkerMessage =
  ProgressMessage | StageMessage | ModelsMessage | SegmentResult | PhantomFiles | ErrorMessage;
