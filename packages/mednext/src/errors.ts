/**
 * Typed errors of `@mednext-ts/mednext`. A failure that reaches a user (a checkpoint or weights file that
 * cannot be read, a case missing a modality, a bad task or postprocessing setting, an input the network
 * cannot take, a GPU limit) is a {@link MedNeXtError}: its message is the clear sentence the user sees
 * (naming the file and the problem), its `code` a stable reason a caller can branch on without parsing
 * the message. Checks of the library's own invariants stay plain `Error`s: they are bugs to report.
 *
 * @example
 * ```ts
 * try {
 *   await loadInferenceModel(file);
 * } catch (error) {
 *   if (error instanceof MedNeXtError && error.code === 'CHECKPOINT_VERSION') console.error('update mednext-ts');
 *   else throw error;
 * }
 * ```
 */

/** Stable machine-readable reasons of a {@link MedNeXtError}. */
export type MedNeXtErrorCode =
  /** A checkpoint file could not be read from disk. */
  | 'CHECKPOINT_UNREADABLE'
  /** The file is not a mednext checkpoint, or its metadata is malformed or incomplete. */
  | 'CHECKPOINT_INVALID'
  /** The checkpoint was written by a newer mednext-ts (an unknown format version). */
  | 'CHECKPOINT_VERSION'
  /** `--resume` asked for a resume file that is missing or is not one. */
  | 'RESUME_MISSING'
  /** A file of a run folder could not be written. */
  | 'RUN_WRITE_FAILED'
  /** The run folder already holds something the request would lose or ignore (folds, another split). */
  | 'RUN_FOLDER_CONFLICT'
  /** The splits file is missing, unreadable, or has no such fold. */
  | 'SPLITS_INVALID'
  /** The preprocessing cache does not fit the task (another task, another normalisation). */
  | 'CACHE_MISMATCH'
  /** A training setting is out of range or inconsistent with the task. */
  | 'TRAINING_SETTING'
  /** Training diverged (a non-finite loss). */
  | 'TRAINING_DIVERGED'
  // Weights files (.pth, .safetensors, the ZIP inside a .pth).
  /** A weights file is damaged or truncated, or is not the format it claims (bad ZIP, bad header, bad offsets). */
  | 'WEIGHTS_INVALID'
  /** A weights file uses a variant this reader does not support (legacy torch.save, a compression method, a dtype). */
  | 'WEIGHTS_UNSUPPORTED'
  /** The tensors do not describe a MedNeXt, or do not fit the model they are loaded into. */
  | 'WEIGHTS_MISMATCH'
  // Arrays.
  /** A `.npy` file (an input, or an array of the preprocessing cache) is not a readable NumPy array. */
  | 'NPY_INVALID'
  // The network.
  /** A MedNeXt configuration (preset, channels, kernel sizes, norm) is invalid. */
  | 'MODEL_CONFIG'
  /** The input of a network does not fit it (rank, channel count, a size not a multiple of 16, DS heads not built). */
  | 'MODEL_INPUT'
  /** Ensemble members disagree (regions, modalities, normalisation), or their weights do not fit, or none is given. */
  | 'ENSEMBLE_INVALID'
  // Inputs of prediction and preprocessing.
  /** An input file or folder is missing: a path that does not exist, or a modality file absent from a case. */
  | 'INPUT_MISSING'
  /** The inputs cannot be read as cases (not NIfTI, wrong file count, mixed cases, shapes or channels that disagree). */
  | 'INPUT_INVALID'
  /** The dataset roots do not hold a usable set of cases (unreadable, no cases, a case given twice). */
  | 'DATASET_INVALID'
  /** A normalisation is unknown, badly parametrised, or does not list one method per modality. */
  | 'NORMALIZATION_INVALID'
  /** A shard (`--shard I/N` or the SLURM / Kubernetes variables) is malformed or out of range. */
  | 'SHARD_INVALID'
  // The preprocessing cache.
  /** A file of the preprocessing cache is missing, unreadable, or holds the wrong array. */
  | 'CACHE_INVALID'
  /** A file of the preprocessing cache could not be written. */
  | 'CACHE_WRITE_FAILED'
  // Postprocessing.
  /** A postprocessing setting or file is invalid (threshold, minimum size, region, step parameters, task). */
  | 'POSTPROCESS_CONFIG'
  // Tasks and the named registries (normalisations, postprocessing steps, losses, ...).
  /** No task is registered under this id. */
  | 'TASK_UNKNOWN'
  /** Two plugins register the same task id. */
  | 'TASK_DUPLICATE'
  /** A task definition is inconsistent (`TaskDefinitionError`, with the offending `field`). */
  | 'TASK_INVALID'
  /** A task plugin does not export `tasks`, or `MEDNEXT_TASK_OVERRIDE` is malformed. */
  | 'TASK_PLUGIN_INVALID'
  /** The models, settings or label maps do not fit the task (regions, their order, labels, pipeline features). */
  | 'TASK_MISMATCH'
  /** A named registry has no entry of this name. */
  | 'REGISTRY_UNKNOWN'
  /** A named registry already has an entry of this name (and no override was asked). */
  | 'REGISTRY_DUPLICATE'
  /** A registry entry's name is not lower-case letters, digits and dashes. */
  | 'REGISTRY_NAME_INVALID'
  /** A registry entry lacks its implementation (`apply`). */
  | 'REGISTRY_ENTRY_INVALID'
  // WebGPU.
  /** WebGPU was asked for (`--backend webgpu`) and no usable adapter was found; the message says why. */
  | 'GPU_UNAVAILABLE'
  /** A WebGPU feature that is asked for is not implemented (a model that hides its network, the former `f16` option). */
  | 'GPU_UNSUPPORTED'
  /** A buffer or shape given to a WebGPU kernel does not fit what it was built for. */
  | 'GPU_INPUT'
  /** The work exceeds a limit of this GPU device (buffer binding size, dispatch size). */
  | 'GPU_LIMIT'
  /** A loss option is invalid (gamma, alpha, weights, layout). */
  | 'LOSS_CONFIG';

/** An error of mednext that a user should see; `file` is the file it concerns, when there is one. */
export class MedNeXtError extends Error {
  override readonly name = 'MedNeXtError';

  constructor(
    /** Stable reason code. */
    readonly code: MedNeXtErrorCode,
    /** The full sentence for the user (it already names the file when there is one). */
    message: string,
    options: { file?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.file = options.file;
  }

  /** The file the problem was found in, when there is one. */
  readonly file: string | undefined;
}

/** Whether `error` is a {@link MedNeXtError} with this code (or any code when none is given). */
export function isMedNeXtError(error: unknown, code?: MedNeXtErrorCode): error is MedNeXtError {
  return error instanceof MedNeXtError && (code === undefined || error.code === code);
}
