// What a WebGPU training step of a MedNeXt must hold, computed from the architecture before anything runs, so
// that the GPU benchmark can refuse a patch the adapter cannot train at with a clear message instead of spending
// minutes of a GPU machine on it. The trainer (createWebGpuTrainer) keeps every block's input for the backward
// pass (recomputing inside the block), holds every such tensor of one sample in one storage binding, and the
// deep-supervision loss reads each head's logits for the whole batch in one binding.
import { buildArchitecture, parameterSpecs, resolveConfig } from '../../dist/index.js';

const vox = (s) => s[0] * s[1] * s[2];

/**
 * The training footprint of `config` at `spatial` ([D, H, W]) and `batch` samples.
 * @param activationBytes bytes per kept activation value (4: f32, 2: f16)
 * @returns parameters; `largestBinding` (bytes and what it is); `keptPerSampleBytes` (every block input of one
 *   sample); `parameterStateBytes` (weights y, gradients, Schedule-Free's z and second moment: 4 float32 copies)
 */
export function trainingFootprint(config, spatial, batch, activationBytes = 4) {
  const arch = buildArchitecture(resolveConfig(config));
  const parameters = parameterSpecs(arch).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  const { inChannels, nClasses } = arch.config;
  let size = [...spatial];
  let kept = 0;
  let largest = { bytes: inChannels * vox(size) * 4, what: `one input sample (${inChannels}x${size.join('x')})` };
  const consider = (bytes, what) => {
    if (bytes > largest.bytes) largest = { bytes, what };
  };
  /** One block's input (kept for the backward pass, one binding); the size after the block. */
  const block = (b) => {
    const bytes = b.cIn * vox(size) * activationBytes;
    kept += bytes;
    consider(b.cIn * vox(size) * 4, `the input of ${b.name} (${b.cIn}x${size.join('x')}, float32)`);
    if (b.kind === 'down') size = size.map((n) => Math.ceil(n / 2));
    if (b.kind === 'up') size = size.map((n) => 2 * n);
  };
  for (let j = 0; j < 4; j++) {
    for (const b of arch.encoders[j]) block(b);
    block(arch.downs[j]);
  }
  for (const b of arch.bottleneck) block(b);
  for (let i = 0; i < 4; i++) {
    block(arch.ups[i]);
    for (const b of arch.decoders[i]) block(b);
  }
  consider(
    batch * nClasses * vox(spatial) * 4,
    `the main head's logits for the batch (${batch}x${nClasses}x${spatial.join('x')})`,
  );
  return { parameters, largestBinding: largest, keptPerSampleBytes: kept, parameterStateBytes: parameters * 16 };
}

/**
 * Why the adapter cannot train at this size, or undefined when it can as far as the limits tell.
 * @param limits the adapter's limits (`maxStorageBufferBindingSize`, `maxBufferSize`)
 * @param gpuMemoryBytes the device's memory where known (nvidia-smi), for the lower bound of what a step holds
 */
export function trainingLimitProblem(footprint, limits, gpuMemoryBytes) {
  const binding = Math.min(limits.maxStorageBufferBindingSize ?? Infinity, limits.maxBufferSize ?? Infinity);
  if (footprint.largestBinding.bytes > binding) {
    return (
      `${footprint.largestBinding.what} is ${footprint.largestBinding.bytes} bytes, above this adapter's largest ` +
      `storage binding (${binding} bytes: min of maxStorageBufferBindingSize and maxBufferSize); the WebGPU ` +
      'trainer holds every such tensor in one binding'
    );
  }
  const lowerBound = footprint.parameterStateBytes + footprint.keptPerSampleBytes;
  if (gpuMemoryBytes && lowerBound > gpuMemoryBytes) {
    return `a step holds at least ${lowerBound} bytes (parameters, gradients, optimizer state and one sample's kept activations), more than the GPU's ${gpuMemoryBytes} bytes`;
  }
  return undefined;
}
