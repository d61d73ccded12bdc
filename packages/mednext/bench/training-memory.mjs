// Tensor memory of one MedNeXt training step: the bytes held when the forward pass and the
// deep-supervision loss are done (everything the backward pass needs), measured at two small
// patch sizes and extrapolated linearly in voxels to the recipe's patch (activations scale with
// batch x voxels; weights and optimizer state do not). The backward pass then frees activations
// while it creates gradients, so the true peak is this plus the largest transient gradient
// tensors (a few per cent). (tf.profile's peakBytes would be the direct measure but crashes in
// tfjs 4.22 inside gradient functions.) Usage:
//   node bench/training-memory.mjs [preset=B] [backend=cpu] [--checkpoint]
// --checkpoint recomputes each block in the backward pass (MedNeXt.forward's checkpointBlocks).
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mednext-ts/tensor3d';
import { MedNeXt, presetConfig, batchDiceFocalLoss, deepSupervisionLoss, targetPyramid } from '@mednext-ts/mednext';
import { AdamWScheduleFree } from '@mednext-ts/optim-schedulefree';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const checkpointBlocks = process.argv.includes('--checkpoint');
const preset = positional[0] ?? 'B';
await selectBackend(positional[1] ?? 'cpu');
const model = MedNeXt.create(presetConfig(preset, { deepSupervision: true, inChannels: 4, nClasses: 3 }), { seed: 1 });
const opt = new AdamWScheduleFree({ lr: 0.0027 });
opt.train();

async function step(shape) {
  const x = tf.randomNormal([1, ...shape, 4]);
  const y = tf.cast(tf.greater(tf.randomUniform([1, ...shape, 3]), 0.8), 'float32');
  const targets = targetPyramid(y, 5);
  const t0 = performance.now();
  const before = tf.memory().numBytes;
  let held = 0;
  const { value, grads } = tf.variableGrads(() => {
    const loss = deepSupervisionLoss(model.forward(x, { training: true, checkpointBlocks }), targets, (a, b) =>
      batchDiceFocalLoss(a, b),
    );
    held = tf.memory().numBytes - before;
    return loss;
  }, model.trainableVariables());
  opt.applyGradients(grads);
  tf.dispose([value, ...Object.values(grads)]);
  const info = { peakBytes: held };
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([x, y, ...targets]);
  return { voxels: shape.reduce((a, b) => a * b), peak: info.peakBytes, seconds };
}

await step([16, 16, 16]); // warm-up: creates the optimizer state
const baseBytes = tf.memory().numBytes; // weights + Schedule-Free z and v
const a = await step([16, 16, 32]);
const b = await step([16, 32, 32]);
const perVoxel = (b.peak - a.peak) / (b.voxels - a.voxels);
const fixed = a.peak - perVoxel * a.voxels;
const target = 2 * 128 * 160 * 112;
const gib = (n) => (n / 2 ** 30).toFixed(2);
console.log(
  `MedNeXt-${preset} k3 DS${checkpointBlocks ? ', checkpointed blocks' : ''}, ${model.parameterCount()} parameters; resident weights+optimizer ${gib(baseBytes)} GiB`,
);
console.log(
  `held after forward+loss: 1x16x16x32 ${gib(a.peak)} GiB (${a.seconds.toFixed(1)} s), 1x16x32x32 ${gib(b.peak)} GiB (${b.seconds.toFixed(1)} s)`,
);
console.log(`per voxel of batch x patch: ${(perVoxel / 1024).toFixed(2)} KiB; fixed ${gib(fixed)} GiB`);
console.log(
  `extrapolated for batch 2 x 128x160x112 (float32, tfjs tape): ${gib(fixed + perVoxel * target + baseBytes)} GiB ` +
    `(activations ${gib(perVoxel * target)} GiB + weights/optimizer ${gib(baseBytes)} GiB + fixed ${gib(fixed)} GiB; gradients add ${gib(baseBytes / 3)} GiB)`,
);
model.dispose();
