// Tensor memory of one MedNeXt training step, measured at two small patch sizes and extrapolated
// linearly in voxels to the recipe's patch (activations scale with batch x voxels; weights and
// optimizer state do not). Two numbers per patch:
//  - held: the bytes alive once the forward pass and the deep-supervision loss are done (everything
//    the backward pass needs);
//  - peak: the most bytes alive at any moment of the step (forward, backward, optimizer update),
//    tracked through the tfjs engine's byte counter (tf.profile's peakBytes would be the direct
//    measure but crashes in tfjs 4.22 inside gradient functions). With --checkpoint the backward pass
//    recomputes one block at a time, so peak exceeds held by the largest block's tape.
// Usage:
//   node bench/training-memory.mjs [preset=B] [backend=cpu] [--checkpoint]
// --checkpoint recomputes each block in the backward pass (MedNeXt.forward's checkpointBlocks).
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mednext-ts/tensor3d';
import { MedNeXt, presetConfig, batchDiceFocalLoss, deepSupervisionLoss, targetPyramid } from '@mednext-ts/mednext';
import { AdamWScheduleFree } from '@mednext-ts/optim-schedulefree';

/** Per-voxel activation bytes of MedNeXt-B k3 DS (held after forward+loss, cpu) before the custom gradients. */
const AUTODIFF_BASELINE_KIB = 40.38;

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const checkpointBlocks = process.argv.includes('--checkpoint');
const preset = positional[0] ?? 'B';
await selectBackend(positional[1] ?? 'cpu');
const model = MedNeXt.create(presetConfig(preset, { deepSupervision: true, inChannels: 4, nClasses: 3 }), { seed: 1 });
const opt = new AdamWScheduleFree({ lr: 0.0027 });
opt.train();

// Peak tracking: tfjs keeps its running byte count in engine.state.numBytes (no public hook), so
// watch every write to it.
const state = tf.engine().state;
let current = state.numBytes;
let peakSeen = current;
Object.defineProperty(state, 'numBytes', {
  get: () => current,
  set: (v) => {
    current = v;
    if (v > peakSeen) peakSeen = v;
  },
  configurable: true,
});

async function step(shape) {
  const x = tf.randomNormal([1, ...shape, 4]);
  const y = tf.cast(tf.greater(tf.randomUniform([1, ...shape, 3]), 0.8), 'float32');
  const targets = targetPyramid(y, 5);
  const t0 = performance.now();
  const before = tf.memory().numBytes;
  peakSeen = before;
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
  const peak = peakSeen - before;
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([x, y, ...targets]);
  return { voxels: shape.reduce((a, b) => a * b), held, peak, seconds };
}

await step([16, 16, 16]); // warm-up: creates the optimizer state
const baseBytes = tf.memory().numBytes; // weights + Schedule-Free z and v
const a = await step([16, 16, 32]);
const b = await step([16, 32, 32]);
const target = 2 * 128 * 160 * 112;
const gib = (n) => (n / 2 ** 30).toFixed(2);
const fit = (key) => {
  const perVoxel = (b[key] - a[key]) / (b.voxels - a.voxels);
  return { perVoxel, fixed: a[key] - perVoxel * a.voxels };
};
const held = fit('held');
const peak = fit('peak');
console.log(
  `MedNeXt-${preset} k3 DS${checkpointBlocks ? ', checkpointed blocks' : ''}, ${model.parameterCount()} parameters; ` +
    `resident weights+optimizer ${gib(baseBytes)} GiB`,
);
for (const [name, r] of [
  ['1x16x16x32', a],
  ['1x16x32x32', b],
]) {
  console.log(
    `${name}: held after forward+loss ${gib(r.held)} GiB, step peak ${gib(r.peak)} GiB (${r.seconds.toFixed(1)} s)`,
  );
}
console.log(
  `per voxel of batch x patch: held ${(held.perVoxel / 1024).toFixed(2)} KiB, peak ${(peak.perVoxel / 1024).toFixed(2)} KiB` +
    (preset === 'B'
      ? ` (held = ${(held.perVoxel / 1024 / AUTODIFF_BASELINE_KIB).toFixed(3)}x the plain-autodiff ${AUTODIFF_BASELINE_KIB} KiB)`
      : ''),
);
console.log(
  `extrapolated for batch 2 x 128x160x112 (float32, tfjs tape): peak ${gib(peak.fixed + peak.perVoxel * target + baseBytes)} GiB ` +
    `(held after forward ${gib(held.fixed + held.perVoxel * target + baseBytes)} GiB; weights/optimizer ${gib(baseBytes)} GiB included)`,
);
model.dispose();
