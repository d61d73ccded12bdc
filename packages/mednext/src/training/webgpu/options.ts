/**
 * The checks of {@link WebGpuTrainerOptions} against the model, before anything is put on the GPU, and the
 * settings the trainer derives from them.
 */
import { MedNeXtError } from '../../errors.js';
import { deepSupervisionWeights, type LossFn } from '../../losses/deep-supervision.js';
import type { MedNeXt } from '../../model/mednext.js';
import { levelSize, type BatchShape } from './batch.js';
import type { WebGpuTrainerOptions } from './types.js';

/** What the trainer runs with. */
export interface TrainerSettings {
  shape: BatchShape;
  deepSupervision: boolean;
  /** One loss weight per supervised head level (full resolution first). */
  lossWeights: number[];
  /** The GPU loss, or the host {@link LossFn}. */
  loss: { gpu: 'dice-focal' | 'dice-bce' } | { host: LossFn };
  /** Official names of the parameters the optimizer updates; undefined: all of them. */
  trainable?: ReadonlySet<string>;
  /** Storage of the block inputs each sample's recorded forward keeps for its backward. */
  activationStorage: 'f32' | 'f16';
}

const fail = (why: string): never => {
  throw new MedNeXtError('TRAINING_SETTING', `createWebGpuTrainer: ${why}`);
};

/** The storage of the kept activations: `'f32'` (default) or `'f16'` (packed halves, on every adapter). */
function checkActivationStorage(storage: WebGpuTrainerOptions['activationStorage']): 'f32' | 'f16' {
  if (storage === undefined || storage === 'f32' || storage === 'f16') return storage ?? 'f32';
  return fail(`activationStorage must be 'f32' or 'f16', got ${JSON.stringify(storage)}`);
}

/**
 * Checks the options against the model.
 * @throws MedNeXtError `TRAINING_SETTING` naming the bad option
 */
export function resolveTrainerSettings(model: MedNeXt, options: WebGpuTrainerOptions): TrainerSettings {
  const activationStorage = checkActivationStorage(options.activationStorage);
  const patch = options.patchSize;
  if (!Array.isArray(patch) || patch.length !== 3 || patch.some((n) => !Number.isInteger(n) || n <= 0 || n % 16)) {
    fail(
      `patchSize must be three positive multiples of 16 (4 down-sampling levels), got ${JSON.stringify(patch)}` +
        (Array.isArray(patch) && patch.length === 3 ? ` (${patch.join('x')})` : ''),
    );
  }
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    fail(`batchSize must be a positive integer, got ${options.batchSize}`);
  }
  const arch = model.architecture;
  if (options.deepSupervision && arch.heads.length < 5) {
    fail(
      'deepSupervision needs the deep-supervision heads out_1..out_4, and this model was built without them ' +
        '(create it with deep_supervision: true)',
    );
  }
  const { learningRate, weightDecay, warmupSteps } = options.optimizer ?? ({} as WebGpuTrainerOptions['optimizer']);
  if (!(learningRate > 0) || !Number.isFinite(learningRate))
    fail(`learning rate must be positive, got ${learningRate}`);
  if (!(weightDecay >= 0) || !Number.isFinite(weightDecay)) fail(`weight decay must be >= 0, got ${weightDecay}`);
  if (warmupSteps !== undefined && !(Number.isInteger(warmupSteps) && warmupSteps >= 0)) {
    fail(`warmupSteps must be a non-negative integer, got ${warmupSteps}`);
  }
  let loss: TrainerSettings['loss'];
  if (options.loss === 'dice-focal' || options.loss === 'dice-bce') loss = { gpu: options.loss };
  else if (typeof options.loss === 'function') loss = { host: options.loss };
  else loss = fail(`loss must be 'dice-focal', 'dice-bce' or a loss function, got ${JSON.stringify(options.loss)}`);
  let trainable: Set<string> | undefined;
  if (options.trainable !== undefined) {
    trainable = new Set(options.trainable);
    if (trainable.size === 0) fail('trainable is empty: name at least one parameter (or leave it unset for all)');
    const unknown = [...trainable].filter((n) => !model.params.has(n) || n === 'dummy_tensor');
    if (unknown.length) fail(`trainable names parameters this model does not train: ${unknown.join(', ')}`);
  }
  const deepSupervision = options.deepSupervision;
  const shape: BatchShape = {
    batch: options.batchSize,
    spatial: [patch[0], patch[1], patch[2]],
    modalities: arch.config.inChannels,
    regions: arch.config.nClasses,
  };
  return {
    shape,
    deepSupervision,
    lossWeights: deepSupervision ? deepSupervisionWeights(5) : [1],
    loss,
    trainable,
    activationStorage,
  };
}

/**
 * Refuses, before any upload, a batch whose full-resolution tensors cannot be bound: the input and the widest
 * full-resolution activation of one sample, and the batched logits the loss reads.
 * @throws MedNeXtError `GPU_LIMIT` with what to change
 */
export function checkBindingLimit(model: MedNeXt, s: TrainerSettings, maxBindingBytes: number): void {
  const { inChannels, nChannels, nClasses } = model.architecture.config;
  const advice = 'use a smaller patch or batch (or a device with a larger maxStorageBufferBindingSize)';
  const check = (what: string, dims: number[]): void => {
    const bytes = dims.reduce((a, b) => a * b, 4);
    if (bytes <= maxBindingBytes) return;
    throw new MedNeXtError(
      'GPU_LIMIT',
      `createWebGpuTrainer: ${what} (${dims.join('x')} f32, ${bytes} bytes) exceeds one storage binding ` +
        `(${maxBindingBytes} bytes); training needs every tensor in one binding: ${advice}`,
    );
  };
  const [d, h, w] = s.shape.spatial;
  check('one input sample', [inChannels, d, h, w]);
  check('a full-resolution activation', [nChannels, d, h, w]);
  s.lossWeights.forEach((_, level) =>
    check(`the batched logits of head out_${level}`, [s.shape.batch, nClasses, ...levelSize(s.shape.spatial, level)]),
  );
}
