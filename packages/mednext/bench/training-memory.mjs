// Tensor memory of one MedNeXt training step, measured at two small patch sizes and extrapolated
// linearly in voxels to the recipe's patch (activations scale with batch x voxels; weights and
// optimizer state do not). Bytes are counted per data buffer (meterBuffers; tf.memory().numBytes
// counts every view and saved clone again). Two numbers per patch:
//  - held: the buffer bytes alive once the forward pass and the deep-supervision loss are done
//    (everything the backward pass needs);
//  - peak: the most buffer bytes alive at any moment of the step (forward, backward, optimizer
//    update). With checkpointing the backward pass recomputes one block at a time, so the peak
//    exceeds held by the largest block's tape.
// Modes: autodiff (tfjs's plain gradient tape, the reference), lean (the custom gradients, default
// for training), checkpoint (lean + per-block recompute). Usage:
//   node bench/training-memory.mjs [preset=B] [backend=cpu] [--modes=autodiff,lean,checkpoint]
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mednext-ts/tensor3d';
import {
  MedNeXt,
  presetConfig,
  batchDiceFocalLoss,
  deepSupervisionLoss,
  meterBuffers,
  targetPyramid,
} from '@mednext-ts/mednext';
import { AdamWScheduleFree } from '@mednext-ts/optim-schedulefree';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const modesArg = process.argv.find((a) => a.startsWith('--modes='));
const modes = modesArg ? modesArg.slice('--modes='.length).split(',') : ['autodiff', 'lean', 'checkpoint'];
const preset = positional[0] ?? 'B';
await selectBackend(positional[1] ?? 'cpu');
const model = MedNeXt.create(presetConfig(preset, { deepSupervision: true, inChannels: 4, nClasses: 3 }), { seed: 1 });
const opt = new AdamWScheduleFree({ lr: 0.0027 });
opt.train();
const meter = meterBuffers();

async function step(shape, mode) {
  const forwardOptions = {
    training: true,
    leanGradients: mode !== 'autodiff',
    checkpointBlocks: mode === 'checkpoint',
  };
  const x = tf.randomNormal([1, ...shape, 4]);
  const y = tf.cast(tf.greater(tf.randomUniform([1, ...shape, 3]), 0.8), 'float32');
  const targets = targetPyramid(y, 5);
  const t0 = performance.now();
  const before = meter.current();
  meter.resetPeak();
  let held = 0;
  const { value, grads } = tf.variableGrads(() => {
    const loss = deepSupervisionLoss(model.forward(x, forwardOptions), targets, (a, b) => batchDiceFocalLoss(a, b));
    held = meter.current() - before;
    return loss;
  }, model.trainableVariables());
  opt.applyGradients(grads);
  tf.dispose([value, ...Object.values(grads)]);
  const peak = meter.peak() - before;
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([x, y, ...targets]);
  return { voxels: shape.reduce((a, b) => a * b), held, peak, seconds };
}

const gib = (n) => (n / 2 ** 30).toFixed(2);
const kib = (n) => (n / 1024).toFixed(2);
const target = 2 * 128 * 160 * 112;
const baseBytes = tf.memory().numBytes; // weights (before the optimizer state exists)
await step([16, 16, 16], 'lean'); // warm-up: creates the optimizer state
const resident = baseBytes + meter.current(); // weights + Schedule-Free z and v
console.log(
  `MedNeXt-${preset} k3 DS, ${model.parameterCount()} parameters; resident weights+optimizer ${gib(resident)} GiB`,
);
const results = {};
for (const mode of modes) {
  const a = await step([16, 16, 32], mode);
  const b = await step([16, 32, 32], mode);
  const fit = (key) => {
    const perVoxel = (b[key] - a[key]) / (b.voxels - a.voxels);
    return { perVoxel, fixed: a[key] - perVoxel * a.voxels };
  };
  const r = (results[mode] = { held: fit('held'), peak: fit('peak') });
  const ratio = (key) =>
    results.autodiff && mode !== 'autodiff'
      ? ` = ${(r[key].perVoxel / results.autodiff[key].perVoxel).toFixed(3)}x autodiff`
      : '';
  console.log(
    `${mode}: held ${gib(a.held)} / ${gib(b.held)} GiB, peak ${gib(a.peak)} / ${gib(b.peak)} GiB at 1x16x16x32 / 1x16x32x32 ` +
      `(${a.seconds.toFixed(1)} / ${b.seconds.toFixed(1)} s)`,
  );
  console.log(
    `  per voxel of batch x patch: held ${kib(r.held.perVoxel)} KiB${ratio('held')}, peak ${kib(r.peak.perVoxel)} KiB${ratio('peak')}`,
  );
  console.log(
    `  batch 2 x 128x160x112 (float32): peak ${gib(r.peak.fixed + r.peak.perVoxel * target + resident)} GiB, ` +
      `held after forward ${gib(r.held.fixed + r.held.perVoxel * target + resident)} GiB (weights/optimizer included)`,
  );
}
meter.stop();
model.dispose();
