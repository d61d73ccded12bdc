// Engine process of the whole-network benchmark: our tfjs MedNeXt on the backend `auto` picks, with the
// project's WebAssembly kernels registered when @mednext-ts/tensor3d provides them. One process per
// measurement so that its peak RSS is its own. Usage (from network.mjs): node engine-ours.mjs TASK.json
import * as tf from '@tensorflow/tfjs-core';
import * as tensor3d from '@mednext-ts/tensor3d';
import {
  MedNeXt,
  batchDiceFocalLoss,
  createOptimizer,
  deepSupervisionLoss,
  loadStateDict,
  parseSafetensors,
  regionDiceBceLoss,
  targetPyramid,
  toNcdhw,
  toNdhwc,
} from '../dist/index.js';
import * as mednext from '../dist/index.js';
import { readFileSync } from 'node:fs';
import { cpuSeconds, emitResult, load1, maxRssBytes, median, readF32, readTask, writeF32 } from './common.mjs';

const task = readTask();
const load1Start = load1();

/** Selects the backend and installs the fast kernels (with `threads` threads) where they exist. */
async function setUpCompute() {
  const choice = await tensor3d.selectBackend(task.backend ?? 'auto');
  const info = { backend: choice.backend, reason: choice.reason, fastKernels: [], threads: 1 };
  if (task.fastKernels !== false && typeof tensor3d.enableFastKernels === 'function') {
    // The one-call setup applications use: threaded runtime + registration for the CPU backends.
    const { registered, runtime } = await tensor3d.enableFastKernels({ threads: task.threads });
    info.fastKernels = registered;
    info.threads = runtime.threads;
    info.relaxedSimd = runtime.relaxedSimd;
    if (runtime.fallbackReason) info.threadFallback = runtime.fallbackReason;
  } else if (task.fastKernels !== false && typeof tensor3d.registerFastKernels === 'function') {
    const runtime = await tensor3d.createKernelRuntime({ threads: task.threads });
    info.fastKernels = tensor3d.registerFastKernels({ runtime });
    info.threads = runtime.threads;
    info.relaxedSimd = runtime.relaxedSimd;
    if (runtime.fallbackReason) info.threadFallback = runtime.fallbackReason;
  }
  return info;
}

function loadModel() {
  const model = MedNeXt.create(task.config, { seed: 0 });
  const st = parseSafetensors(new Uint8Array(readFileSync(task.weights)), task.weights);
  loadStateDict(model, st.tensors);
  return model;
}

/**
 * One inference: NCDHW array in, NCDHW main output downloaded to host memory (what a caller gets), through
 * `forwardNcdhw` (the path of `mednext model run`) where the package has it.
 */
async function forwardOnce(model, x) {
  if (typeof mednext.forwardNcdhw === 'function') {
    const [main] = await mednext.forwardNcdhw(
      model,
      { shape: task.inputShape, data: x.dataSync() },
      { deepSupervision: false },
    );
    return main.data;
  }
  const y = tf.tidy(() => toNcdhw(model.forward(toNdhwc(x), { deepSupervision: false })[0]));
  const data = await y.data();
  y.dispose();
  return data;
}

/** The training loss of the task: nnU-Net v1's Dice+BCE (default) or the seed recipe's batch Dice + focal. */
const LOSSES = { 'dice-bce': regionDiceBceLoss, 'dice-focal': (l, t) => batchDiceFocalLoss(l, t) };

/** One training step: forward with deep supervision, the task's loss over the 5 outputs, backward, update. */
async function trainStepOnce(model, x, targets, optimizer) {
  const lossFn = LOSSES[task.loss ?? 'dice-bce'];
  if (!lossFn) throw new Error(`engine-ours: unknown loss '${task.loss}' (${Object.keys(LOSSES).join(', ')})`);
  const { value, grads } = tf.variableGrads(() => {
    const outs = model.forward(toNdhwc(x), { deepSupervision: true, training: true });
    return deepSupervisionLoss(outs, targets, lossFn);
  }, model.trainableVariables());
  optimizer.applyGradients(grads);
  const loss = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads)]);
  return loss;
}

const compute = await setUpCompute();
const model = loadModel();
const x = tf.tensor(readF32(task.input), task.inputShape, 'float32');
let step;
let optimizer;
let targets;
if (task.part === 'train') {
  const target = tf.tensor(readF32(task.target), task.targetShape, 'float32');
  targets = targetPyramid(toNdhwc(target), 5);
  target.dispose();
  // The task's Schedule-Free AdamW (the seed recipe), else the AdamW of nnU-Net's MedNeXt trainers.
  const sf = task.optimizer?.kind === 'schedulefree' ? task.optimizer : undefined;
  optimizer = sf
    ? createOptimizer({
        kind: 'schedulefree',
        learningRate: sf.lr,
        weightDecay: sf.weightDecay ?? 0,
        warmupSteps: sf.warmupSteps ?? 0,
      })
    : createOptimizer({ kind: 'adamw-poly', learningRate: 1e-3, weightDecay: 3e-5 });
  optimizer.train();
  step = () => trainStepOnce(model, x, targets, optimizer);
} else {
  step = () => forwardOnce(model, x);
}

const times = [];
const cpuRuns = [];
let firstOutput;
let lastLoss;
const losses = [];
const total = 1 + task.warmup + task.runs;
for (let r = 0; r < total; r++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out = await step();
  const seconds = (performance.now() - t0) / 1e3;
  const c = process.cpuUsage(c0);
  times.push(seconds);
  cpuRuns.push((c.user + c.system) / 1e6);
  if (r === 0) {
    // from the parent's spawn: process start, module loading, kernel compilation and weights included.
    compute.startupToFirstSeconds = (Date.now() - task.spawnedAt) / 1e3;
    if (task.part === 'forward') firstOutput = out;
  }
  if (task.part === 'train') {
    lastLoss = out;
    losses.push(out);
  }
  process.stderr.write(`  ours ${task.model} ${task.part} run ${r}/${total - 1}: ${seconds.toFixed(2)} s\n`);
}
if (firstOutput && task.output) writeF32(task.output, firstOutput);

/** With --profile: one more forward under tf.profile, kernel time summed per tfjs kernel name. */
async function profileForward() {
  // The WebAssembly kernels time their own dispatches (the whole-network pass runs no tfjs kernel per layer).
  const rt = tensor3d.wasmKernels?.getKernelRuntime?.();
  rt?.startProfile?.();
  const started = performance.now();
  const info = await tf.profile(async () => {
    await forwardOnce(model, x);
  });
  const wall = (performance.now() - started) / 1e3;
  const kernels = rt?.stopProfile?.() ?? [];
  const byName = new Map();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = byName.get(k.name) ?? { kernel: k.name, calls: 0, seconds: 0 };
    e.calls++;
    e.seconds += ms / 1e3;
    byName.set(k.name, e);
  }
  return {
    wallSeconds: wall,
    tfjs: [...byName.values()].sort((a, b) => b.seconds - a.seconds),
    wasm: kernels,
  };
}
const profile = task.profile && task.part === 'forward' ? await profileForward() : undefined;
emitResult({
  engine: 'ours',
  firstSeconds: times[0],
  startupToFirstSeconds: compute.startupToFirstSeconds,
  runs: times,
  cpuRuns,
  steadySeconds: median(times.slice(1 + task.warmup)),
  maxRssBytes: maxRssBytes(),
  cpu: cpuSeconds(),
  load1Start,
  load1End: load1(),
  loss: lastLoss,
  losses: task.part === 'train' ? losses : undefined, // per step, before its update
  profile,
  info: { ...compute, tfjsBackend: tf.getBackend(), tensorsAlive: tf.memory().numTensors },
});
process.exit(0);
