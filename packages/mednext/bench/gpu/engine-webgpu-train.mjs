// Engine process of the GPU benchmark's training part: the project's WebGPU trainer (createWebGpuTrainer) doing
// the task's training step — a batch of NCDHW samples with their region targets, deep supervision, the task's
// loss and Schedule-Free AdamW — 1 + warmup + runs times on the same batch, each awaited, then `runs` more called
// back to back (pipelined), on the adapter gpu-setup.mjs opens.
// Activations kept for the backward pass in f32, or f16 with `task.f16`.
// Usage (from gpu-bench.mjs): node engine-webgpu-train.mjs TASK.json
import { finish, loadModel, startTask } from './engine-common.mjs';
import { openGpu } from './gpu-setup.mjs';
import { webGpuTrainerFactory } from './webgpu-engine.mjs';
import { readF32 } from '../common.mjs';

const { task, load1Start } = startTask();
const label = task.f16 ? 'webgpu-f16' : 'webgpu';
const factory = webGpuTrainerFactory();
if (!factory.ok) finish(task, load1Start, { engine: label, unavailable: factory.reason });

/** NCDHW (what the benchmark writes, PyTorch's layout) → NDHWC (what the trainer takes, `SamplePool.take()`'s). */
function toChannelsLast(data, [n, c, ...spatial]) {
  const voxels = spatial[0] * spatial[1] * spatial[2];
  if (data.length !== n * c * voxels) {
    throw new Error(`engine-webgpu-train: ${data.length} values do not make a [${[n, c, ...spatial]}] tensor`);
  }
  const out = new Float32Array(data.length);
  for (let s = 0; s < n; s++)
    for (let ch = 0; ch < c; ch++) {
      const from = (s * c + ch) * voxels;
      for (let v = 0; v < voxels; v++) out[(s * voxels + v) * c + ch] = data[from + v];
    }
  return out;
}

// f16 storage packs two halves per 32-bit word with integer arithmetic: it needs no shader-f16 feature.
const opened = await openGpu(task.gpuBackend);
const model = loadModel(task);
const batch = {
  x: toChannelsLast(readF32(task.input), task.inputShape),
  y: toChannelsLast(readF32(task.target), task.targetShape),
};
const built = performance.now();
let trainer;
try {
  trainer = await factory.create(model, {
    patchSize: task.inputShape.slice(2),
    batchSize: task.inputShape[0],
    deepSupervision: true,
    loss: task.loss,
    optimizer: {
      learningRate: task.optimizer.lr,
      weightDecay: task.optimizer.weightDecay,
      warmupSteps: task.optimizer.warmupSteps,
    },
    activationStorage: task.f16 ? 'f16' : 'f32',
  });
} catch (error) {
  // What this build does not implement is unavailable; a patch the adapter cannot hold is a result of this
  // benchmark, not a crash: either message goes in the report.
  const message = String(error?.message ?? error);
  if (error?.code === 'GPU_UNSUPPORTED') finish(task, load1Start, { engine: label, unavailable: message });
  finish(task, load1Start, { engine: label, error: message });
}
const setupSeconds = (performance.now() - built) / 1e3;
trainer.train();

const runs = [];
const reports = [];
const total = 1 + task.warmup + task.runs;
for (let r = 0; r < total; r++) {
  const t0 = performance.now();
  const report = await trainer.step(batch);
  runs.push((performance.now() - t0) / 1e3);
  reports.push(report);
  if (r === 0) task.startupToFirstSeconds = (Date.now() - task.spawnedAt) / 1e3;
  process.stderr.write(
    `  ${label} ${task.model} train run ${r}/${total - 1}: ${runs[r].toFixed(3)} s, loss ${report.loss.toFixed(6)}, ` +
      `GPU idle ${report.gpuIdleMs.toFixed(1)} ms\n`,
  );
}
// Then the same number of steps called back to back without awaiting each (as a training loop that keeps the
// next batch ready does): the trainer records each behind the previous one while the GPU runs it, so the time per
// step is the throughput with the host's recording hidden.
let pipelined;
if (task.runs > 0) {
  const t0 = performance.now();
  const queued = Array.from({ length: task.runs }, () => trainer.step(batch));
  const piped = await Promise.all(queued);
  const seconds = (performance.now() - t0) / 1e3;
  pipelined = {
    steps: task.runs,
    seconds,
    secondsPerStep: seconds / task.runs,
    losses: piped.map((r) => r.loss),
    gpuIdleMs: piped.map((r) => r.gpuIdleMs),
  };
  process.stderr.write(
    `  ${label} ${task.model} train run pipelined x${task.runs}: ${(seconds / task.runs).toFixed(3)} s per step\n`,
  );
}
const peakBytes = trainer.peakBytes();
const adapter = trainer.adapter;
trainer.dispose();
const steadyReports = reports.slice(1 + task.warmup);
finish(task, load1Start, {
  engine: label,
  runs,
  setupSeconds,
  losses: reports.map((r) => r.loss),
  stepMs: reports.map((r) => r.stepMs),
  gpuIdleMs: reports.map((r) => r.gpuIdleMs),
  stepPeakBytes: reports.map((r) => r.peakBytes),
  gpuIdleMsSteady: steadyReports.length
    ? steadyReports.reduce((s, r) => s + r.gpuIdleMs, 0) / steadyReports.length
    : undefined,
  pipelined,
  gpuPeakBytes: peakBytes,
  gpuPeakSource: 'trainer peakBytes()',
  info: {
    adapter: adapter.description,
    software: trainer.software,
    backend: opened.backend,
    activationStorage: task.f16 ? 'f16' : 'f32',
  },
});
