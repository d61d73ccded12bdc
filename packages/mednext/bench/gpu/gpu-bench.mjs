// MedNeXt GPU benchmark: the project's WebGPU engine against PyTorch on CUDA and tfjs-backend-webgpu, in one run.
//
// See USAGE below and bench/gpu/README.md.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { serializeSafetensors } from '../../dist/index.js';
import {
  REFERENCE_PATCH,
  RESULT_TAG,
  compareOutputs,
  load1,
  parseArgs,
  parseShape,
  readF32,
  writeF32,
} from '../common.mjs';
import { benchConfig, forwardMacs, normal, rng, seededWeights } from '../prepare.mjs';
import { GPU_BACKENDS } from './gpu-setup.mjs';
import { trainingFootprint, trainingLimitProblem } from './train-plan.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ENGINES = ['cpu', 'webgpu', 'webgpu-f16', 'tfjs-webgpu', 'torch-fp32', 'torch-fp16'];
/** The engines that take part in the training step (tfjs-backend-webgpu has no training path here). */
const TRAIN_ENGINES = ['cpu', 'webgpu', 'webgpu-f16', 'torch-fp32', 'torch-fp16'];
/**
 * The measured parts: `forward` is the inference pass, `train` one training step (batch, deep supervision, batch
 * Dice + focal, Schedule-Free AdamW) of the WebGPU trainer against PyTorch on CUDA with and without autocast.
 */
const PARTS = { forward: runForwardPart, train: runTrainPart };
/** The tfjs CPU training step joins the train part up to this many voxels per sample (its tape: BENCHMARKS.md). */
const CPU_TRAIN_MAX_VOXELS = 64 ** 3;
/**
 * The first-step loss (same weights, same batch, before any update) of every engine against the reference engine's
 * (torch-fp32, else cpu): |a − b| ≤ rtol·|b|, rtol 1e-4 between float32 engines (reductions over millions of
 * voxels in different orders), 1e-2 for f16 storage and autocast (float16 rounding of activations and logits).
 */
const LOSS_RTOL_F32 = 1e-4;
const LOSS_RTOL_F16 = 1e-2;
/** The issue's memory goals for the paper-size step: under 24 GB (the paper's GPU) must, under 16 GB aim. */
const MEMORY_MUST_BYTES = 24e9;
const MEMORY_AIM_BYTES = 16e9;
const N_CLASSES = 3;
/** The official fixtures' float32 output tolerance (shared/fixtures/mednext/README.md): |a − b| ≤ atol + rtol·|b|. */
const FP32_ATOL = 1e-4;
const FP32_RTOL = 1e-4;

const USAGE = `Usage: node gpu-bench.mjs [options]   (in the packed folder: ./run.sh [options]; see bench/gpu/README.md)

For each model (--configs, default B,M; k3, 4 input channels, 3 classes, seeded weights in PyTorch's default
initialisation, one seeded N(0,1) input), every engine runs in its own process on the same weights and input:
  cpu          the project's CPU engine (tfjs cpu backend + the WebAssembly SIMD kernels): the reference output
  webgpu       the project's WebGPU engine, f32 storage
  webgpu-f16   training: f16 storage of the kept activations (any adapter); forward: unavailable (f32 only)
  tfjs-webgpu  MedNeXt op by op on tfjs-backend-webgpu, on the same adapter
  torch-fp32   the project's PyTorch MedNeXt (torch_mednext.py) on CUDA (CPU where torch has no CUDA)
  torch-fp16   the same under torch.autocast(float16)
and the benchmark prints the adapter, first and steady forward times (median of --runs after --warmup), peak GPU
memory, max |diff| of every output against the CPU engine and against torch-fp32, and the ratios the goals are
stated in.
The train part (--parts train, or forward,train) runs one training step of each model in --train-configs
(default B): batch --batch (2) of 4-modality patches with 3 binary region targets, deep supervision, batch
Dice + focal (gamma 2), Schedule-Free AdamW (--lr 0.0027, --weight-decay 0: the seed recipe), 1 + warmup + runs
times: the WebGPU trainer (webgpu: f32 kept activations, webgpu-f16: f16), PyTorch fp32 and with autocast
(GradScaler), and the tfjs CPU step up to 64^3 voxels; seconds per step (median after warm-up), peak GPU memory,
GPU idle per step, the first-step losses against the reference, the ratios, and hours per fold of the recipe
(--epochs 150 x --iterations 250 steps). Options:
  --configs B,M  --patch DxHxW (128x160x112)  --warmup N (2)  --runs N (5)  --quick (warmup 0, runs 2)
  --engines cpu,webgpu,webgpu-f16,tfjs-webgpu,torch-fp32,torch-fp16  --parts forward,train (forward)
  --train-configs B,M (B)  --train-patch DxHxW (the --patch)  --batch N (2)  --train-width N (n_channels; the preset's 32)
  --train-warmup N (--warmup)  --train-runs N (--runs)  --lr X (0.0027)  --weight-decay X (0)
  --epochs N (150)  --iterations N (250)
  --deadline-min M (none: engines not started by then are skipped, a running one is stopped then)
  --short (MedNeXt-B forward and train at the paper's size, warmup 1/2, runs 3/4, every engine but tfjs-webgpu,
           --timeout-min 4, --deadline-min 8: about 8 minutes on one H100)
  --gpu-backend auto|vulkan|opengles  --python PATH (python3)  --cpu-threads N (all cores, at most 32)
  --cpu-runs N (0: the reference output only)  --seed N (0)  --timeout-min M (20 per engine process)
  --json FILE (gpu-bench-result.json)  --keep DIR (keep weights, inputs and outputs)
`;

/**
 * `--short`: MedNeXt-B forward and training step at the paper's size with every engine but the slow op-by-op
 * tfjs-backend-webgpu, in about 8 minutes on one H100 (most of it process start-up, shader compilation and the
 * CPU reference forward); every run stops at 8 minutes (--deadline-min). Flags given beside it win.
 */
const SHORT = {
  configs: 'B',
  'train-configs': 'B',
  parts: 'forward,train',
  engines: 'cpu,torch-fp16,webgpu,torch-fp32,webgpu-f16',
  warmup: 1,
  runs: 3,
  'train-warmup': 2,
  'train-runs': 4,
  'timeout-min': 4,
  'deadline-min': 8,
};

const parsed = parseArgs(process.argv.slice(2));
const args = parsed.short ? { ...SHORT, ...parsed } : parsed;
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const quick = Boolean(args.quick);
const patch = parseShape(args.patch ?? '128x160x112', '--patch');
const warmup = Number(args.warmup ?? (quick ? 0 : 2));
const runs = Number(args.runs ?? (quick ? 2 : 5));
const opt = {
  configs: String(args.configs ?? 'B,M').split(','),
  patch,
  warmup,
  runs,
  trainConfigs: String(args['train-configs'] ?? 'B').split(','),
  trainPatch: args['train-patch'] ? parseShape(args['train-patch'], '--train-patch') : patch,
  batch: Number(args.batch ?? 2),
  width: args['train-width'] === undefined ? undefined : Number(args['train-width']),
  trainWarmup: Number(args['train-warmup'] ?? warmup),
  trainRuns: Number(args['train-runs'] ?? runs),
  lr: Number(args.lr ?? 0.0027),
  weightDecay: Number(args['weight-decay'] ?? 0),
  epochs: Number(args.epochs ?? 150),
  iterations: Number(args.iterations ?? 250),
  engines: String(args.engines ?? ENGINES.join(',')).split(','),
  parts: String(args.parts ?? 'forward').split(','),
  gpuBackend: String(args['gpu-backend'] ?? 'auto'),
  python: String(args.python ?? 'python3'),
  cpuThreads: Number(args['cpu-threads'] ?? Math.min(32, os.availableParallelism())),
  cpuRuns: Number(args['cpu-runs'] ?? 0),
  seed: Number(args.seed ?? 0),
  timeoutMin: Number(args['timeout-min'] ?? 20),
  deadlineMin: args['deadline-min'] === undefined ? undefined : Number(args['deadline-min']),
  json: path.resolve(String(args.json ?? 'gpu-bench-result.json')),
  keep: args.keep ? path.resolve(String(args.keep)) : undefined,
};
for (const c of opt.configs) if (!['B', 'M'].includes(c)) fail(`--configs takes B and/or M, got '${c}'`);
for (const c of opt.trainConfigs) if (!['B', 'M'].includes(c)) fail(`--train-configs takes B and/or M, got '${c}'`);
for (const e of opt.engines) if (!ENGINES.includes(e)) fail(`--engines: unknown engine '${e}' (${ENGINES.join(', ')})`);
for (const p of opt.parts) if (!PARTS[p]) fail(`--parts: unknown part '${p}' (${Object.keys(PARTS).join(', ')})`);
if (!GPU_BACKENDS.includes(opt.gpuBackend)) fail(`--gpu-backend must be one of ${GPU_BACKENDS.join(', ')}`);
const flag = (k) => `--${k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`;
for (const k of ['warmup', 'runs', 'cpuThreads', 'cpuRuns', 'timeoutMin', 'trainWarmup', 'trainRuns']) {
  if (!Number.isInteger(opt[k]) || opt[k] < (k === 'cpuThreads' || k === 'timeoutMin' ? 1 : 0)) {
    fail(`${flag(k)} must be a whole number, got '${opt[k]}'`);
  }
}
for (const k of ['batch', 'epochs', 'iterations']) {
  if (!Number.isInteger(opt[k]) || opt[k] < 1) fail(`${flag(k)} must be a positive whole number, got '${opt[k]}'`);
}
if (opt.width !== undefined && !(Number.isInteger(opt.width) && opt.width >= 1)) {
  fail(`--train-width must be a positive whole number (the network's n_channels), got '${args['train-width']}'`);
}
if (opt.deadlineMin !== undefined && !(opt.deadlineMin > 0)) {
  fail(`--deadline-min must be a positive number of minutes, got '${args['deadline-min']}'`);
}
if (!(opt.lr > 0)) fail(`--lr must be a positive number, got '${args.lr}'`);
if (!(opt.weightDecay >= 0)) fail(`--weight-decay must be zero or positive, got '${args['weight-decay']}'`);

function fail(message) {
  process.stderr.write(`gpu-bench: ${message}\n`);
  process.exit(2);
}

const lines = [];
/** Prints a report line (kept for the JSON file's `report`). */
function log(line = '') {
  lines.push(line);
  process.stdout.write(`${line}\n`);
}

const work = opt.keep ?? mkdtempSync(path.join(os.tmpdir(), 'mednext-gpu-bench-'));
mkdirSync(work, { recursive: true });

/** An engine script: beside this file in the packed folder, one folder up (engine-ours.mjs) in the sources. */
function script(name) {
  for (const dir of [here, path.dirname(here)]) if (existsSync(path.join(dir, name))) return path.join(dir, name);
  throw new Error(`gpu-bench: ${name} not found beside ${here}`);
}

/** The NVIDIA GPU as nvidia-smi reports it, or undefined where there is none. */
function nvidiaSmi() {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], {
    encoding: 'utf8',
  });
  if (r.status !== 0 || !r.stdout.trim()) return undefined;
  const [name, driver, memory] = r.stdout.trim().split('\n')[0].split(', ');
  return { name, driver, memory };
}

/** Samples the GPU's used memory (nvidia-smi, whole device, MiB) while a child runs; returns the peak above the start. */
function gpuMemorySampler(enabled) {
  if (!enabled) return { stop: async () => undefined };
  const read = () =>
    new Promise((resolve) =>
      execFile('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], (e, out) =>
        resolve(e ? NaN : Number(out.trim().split('\n')[0])),
      ),
    );
  let base;
  let peak = 0;
  const started = read().then((v) => (base = v));
  const timer = setInterval(async () => (peak = Math.max(peak, await read())), 200);
  return {
    stop: async () => {
      clearInterval(timer);
      await started;
      return Number.isFinite(base) && peak > 0 ? Math.max(0, peak - base) * 2 ** 20 : undefined;
    },
  };
}

/** Runs one engine process on a task file; resolves to its result record (or `{ error }`). */
function runEngine(engine, task, smi) {
  const isTorch = engine.startsWith('torch');
  const cmd = isTorch ? opt.python : process.execPath;
  const webgpu = task.part === 'train' ? 'engine-webgpu-train.mjs' : 'engine-webgpu.mjs';
  const entry = isTorch
    ? script('torch_mednext.py')
    : script({ cpu: 'engine-ours.mjs', 'tfjs-webgpu': 'engine-tfjs-webgpu.mjs' }[engine] ?? webgpu);
  const file = path.join(work, `task-${task.part}-${engine}-${task.model}.json`);
  writeFileSync(file, JSON.stringify({ ...task, engine, label: engine, spawnedAt: Date.now() }));
  const left = deadline - Date.now();
  if (left < 5e3) return Promise.resolve({ engine, skipped: `past --deadline-min ${opt.deadlineMin}` });
  const limitMs = Math.min(opt.timeoutMin * 60e3, left);
  const sampler = gpuMemorySampler(Boolean(smi) && engine !== 'cpu');
  return new Promise((resolve) => {
    const child = spawn(cmd, [entry, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      // Progress lines of the engines pass through; native chatter (Dawn's warnings) stays in the record.
      for (const l of String(d).split('\n'))
        if (/^ {2}\S+ \S+ (forward|train) run /.test(l)) process.stderr.write(`${l}\n`);
    });
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      const smiPeak = await sampler.stop();
      const line = out.split('\n').find((l) => l.startsWith(RESULT_TAG));
      const tail = (err.trim() || out.trim()).split('\n').slice(-6).join(' | ');
      let result;
      if (code === 0 && line) result = { ...JSON.parse(line.slice(RESULT_TAG.length)), engine };
      else if (signal === 'SIGKILL') {
        const why =
          limitMs < opt.timeoutMin * 60e3 ? `--deadline-min ${opt.deadlineMin}` : `--timeout-min ${opt.timeoutMin}`;
        result = { engine, error: `stopped at ${why}` };
      } else result = { engine, error: `exited with ${signal ?? code}: ${tail}` };
      if (smiPeak !== undefined) result.gpuUsedPeakBytes = smiPeak;
      const notes = [...new Set(err.split('\n').filter((l) => /^(Warning|Error)/.test(l)))];
      if (notes.length) result.nativeMessages = notes.slice(0, 12);
      resolve(result);
    });
  });
}

/** Whether and how PyTorch runs: its version and device, or why not. */
function probeTorch() {
  const code =
    'import json, torch; c = torch.cuda.is_available(); ' +
    "print(json.dumps({'version': torch.__version__, 'cuda': c, 'device': torch.cuda.get_device_name(0) if c else 'cpu'}))";
  const r = spawnSync(opt.python, ['-c', code], { encoding: 'utf8' });
  if (r.error) return { ok: false, why: `${opt.python}: ${r.error.message}` };
  if (r.status !== 0)
    return { ok: false, why: `${opt.python} cannot import torch: ${r.stderr.trim().split('\n').pop()}` };
  return { ok: true, ...JSON.parse(r.stdout.trim().split('\n').pop()) };
}

/** Probes the adapter in a child (Dawn prints to stderr and holds threads). */
function probeAdapter() {
  const r = spawnSync(process.execPath, [script('probe-adapter.mjs'), opt.gpuBackend], {
    encoding: 'utf8',
    timeout: 120e3,
  });
  try {
    return JSON.parse((r.stdout ?? '').trim().split('\n').pop());
  } catch {
    return {
      error: `the adapter probe failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').pop()}`,
    };
  }
}

const fmtS = (s) => (typeof s === 'number' ? (s < 1 ? `${(s * 1e3).toFixed(1)} ms` : `${s.toFixed(3)} s`) : '—');
const fmtMiB = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const fmtB = (b) => (typeof b === 'number' ? `${(b / 2 ** 30).toFixed(2)} GiB` : '—');
const fmtD = (d) =>
  d?.error ??
  (d
    ? `${d.maxAbs.toExponential(2)} (${(d.argmaxAgree * 100).toFixed(3)}%)${d.toleranceRatio <= 1 ? '' : ' OUT OF TOL'}`
    : '—');
const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : undefined);

/** The forward part for one model: every engine, then the diffs and ratios. */
async function runForwardPart(model, ctx) {
  const spatial = opt.patch;
  const config = benchConfig(model, false);
  const prefix = path.join(work, model);
  writeFileSync(
    `${prefix}.safetensors`,
    serializeSafetensors(seededWeights(config, opt.seed * 1000 + model.charCodeAt(0))),
  );
  writeF32(`${prefix}-input.f32`, normal(4 * spatial[0] * spatial[1] * spatial[2], opt.seed + 17));
  const gflop = (2 * forwardMacs(config, spatial, false)) / 1e9;
  log(`== MedNeXt-${model} k3 forward, 1x4x${spatial.join('x')}, ${gflop.toFixed(1)} GFLOP (convolutions, spec §2.3)`);
  const base = {
    model,
    part: 'forward',
    config,
    weights: `${prefix}.safetensors`,
    input: `${prefix}-input.f32`,
    inputShape: [1, 4, ...spatial],
    warmup: opt.warmup,
    runs: opt.runs,
    gpuBackend: opt.gpuBackend,
    threads: opt.cpuThreads,
  };
  const results = {};
  for (const engine of ['cpu', ...opt.engines.filter((e) => e !== 'cpu')]) {
    const output = `${prefix}-out-${engine}.f32`;
    const task = { ...base, output };
    if (engine === 'cpu') Object.assign(task, { backend: 'cpu', warmup: 0, runs: opt.cpuRuns });
    if (engine === 'webgpu-f16') task.f16 = true;
    if (engine.startsWith('torch')) {
      if (!ctx.torch.ok) {
        results[engine] = { engine, skipped: `PyTorch: ${ctx.torch.why}` };
        continue;
      }
      // One intra-op thread per core on the CPU fallback; on CUDA the thread count does not matter.
      Object.assign(task, { device: ctx.torch.cuda ? 'cuda' : 'cpu', autocast: engine === 'torch-fp16' });
    }
    if (['webgpu', 'webgpu-f16', 'tfjs-webgpu'].includes(engine) && ctx.adapter.error) {
      results[engine] = { engine, skipped: `no WebGPU adapter: ${ctx.adapter.error}` };
      continue;
    }
    const r = await runEngine(engine, task, ctx.smi);
    if (r.error || r.unavailable) {
      results[engine] = r;
      continue;
    }
    r.gflops = r.steadySeconds ? gflop / r.steadySeconds : undefined;
    r.output = readF32(output);
    results[engine] = r;
  }
  // Diffs against the CPU engine (the reference) and against PyTorch fp32 (the spec written in another framework),
  // with the official fixtures' float32 tolerance |a − b| ≤ 1e-4 + 1e-4·|b| (worst ratio ≤ 1 passes).
  const diff = (a, b) => {
    const x = results[a]?.output;
    const y = results[b]?.output;
    if (!x || !y || a === b) return undefined;
    if (x.length !== y.length) return { error: `output sizes differ: ${x.length} vs ${y.length}` };
    return { ...compareOutputs(x, y, N_CLASSES), toleranceRatio: toleranceRatio(x, y) };
  };
  log(
    `${'engine'.padEnd(12)} ${'first'.padStart(10)} ${'steady'.padStart(10)} ${'GFLOP/s'.padStart(8)} ` +
      `${'GPU peak'.padStart(10)} ${'GPU used*'.padStart(10)}  ${'max|diff| vs cpu (argmax)'.padEnd(27)} max|diff| vs torch-fp32`,
  );
  const rows = {};
  for (const [engine, r] of Object.entries(results)) {
    const vsCpu = diff(engine, 'cpu');
    const vsTorch = diff(engine, 'torch-fp32');
    if (r.skipped || r.error || r.unavailable) {
      log(
        `${engine.padEnd(12)} ${r.skipped ? 'skipped' : r.unavailable ? 'unavailable' : 'FAILED'}: ${r.skipped ?? r.unavailable ?? r.error}`,
      );
    } else {
      log(
        `${engine.padEnd(12)} ${fmtS(r.firstSeconds).padStart(10)} ${fmtS(r.steadySeconds).padStart(10)} ` +
          `${(r.gflops ? r.gflops.toFixed(1) : '—').padStart(8)} ${fmtB(r.gpuPeakBytes).padStart(10)} ` +
          `${fmtB(r.gpuUsedPeakBytes).padStart(10)}  ${fmtD(vsCpu).padEnd(27)} ${fmtD(vsTorch)}`,
      );
    }
    const { output, ...record } = r;
    rows[engine] = { ...record, vsCpu, vsTorchFp32: vsTorch, outputMaxAbs: output ? maxAbs(output) : undefined };
  }
  // Dawn reports invalid WGSL and other validation errors on stderr while the dispatch silently does nothing.
  for (const [engine, r] of Object.entries(results)) {
    const errors = (r.nativeMessages ?? []).filter((m) => m.startsWith('Error'));
    if (errors.length) log(`  ${engine}: native errors (the output may be wrong): ${errors.slice(0, 3).join(' | ')}`);
  }
  log('  first = the first forward (from process start: see JSON startupToFirstSeconds); steady = median of --runs');
  log("  GPU peak = the engine's own count; GPU used* = nvidia-smi, whole device, above its level at the start");
  log("  OUT OF TOL = beyond the fixtures' float32 tolerance |a−b| ≤ 1e-4 + 1e-4·|b| (expected for fp16 engines only)");
  const steady = (e) => results[e]?.steadySeconds;
  const ratios = {
    'webgpu / torch-fp16 (must ≤ 3, aim ≤ 1)': ratio(steady('webgpu'), steady('torch-fp16')),
    'webgpu-f16 / torch-fp16': ratio(steady('webgpu-f16'), steady('torch-fp16')),
    'webgpu / torch-fp32': ratio(steady('webgpu'), steady('torch-fp32')),
    'tfjs-webgpu / webgpu (must ≥ 10)': ratio(steady('tfjs-webgpu'), steady('webgpu')),
    'tfjs-webgpu / torch-fp16': ratio(steady('tfjs-webgpu'), steady('torch-fp16')),
    'torch-fp32 / torch-fp16': ratio(steady('torch-fp32'), steady('torch-fp16')),
  };
  const shown = Object.entries(ratios).filter(([, v]) => v !== undefined);
  log(
    `  ratios of steady times: ${shown.length ? shown.map(([k, v]) => `${k} = ${v.toFixed(2)}`).join('; ') : 'none (too few engines ran)'}`,
  );
  log();
  return { model, part: 'forward', patch: spatial, gflop, engines: rows, ratios: Object.fromEntries(shown) };
}

/**
 * The train part's config of a preset, narrowed to --train-width channels when given (small runs on software
 * adapters); the forward part always runs the preset's width.
 */
function trainConfig(model) {
  const config = benchConfig(model, true);
  return opt.width === undefined ? config : { ...config, n_channels: opt.width };
}
const widthLabel = () => (opt.width === undefined ? '' : ` (n_channels ${opt.width})`);

/** Whether an engine's numbers are float16-rounded (f16 storage, autocast): the looser loss tolerance applies. */
const isHalf = (engine) => engine === 'webgpu-f16' || engine === 'torch-fp16';

/**
 * The train part for one model: the same seeded weights and batch for every engine, each engine's step timed
 * 1 + warmup + runs times, then the loss check, the ratios and the projection to a fold of the recipe.
 */
async function runTrainPart(model, ctx) {
  const spatial = opt.trainPatch;
  const batch = opt.batch;
  const config = trainConfig(model);
  const voxels = spatial[0] * spatial[1] * spatial[2];
  const prefix = path.join(work, `${model}-train`);
  writeFileSync(
    `${prefix}.safetensors`,
    serializeSafetensors(seededWeights(config, opt.seed * 1000 + model.charCodeAt(0))),
  );
  writeF32(`${prefix}-input.f32`, normal(batch * 4 * voxels, opt.seed + 23));
  const u = rng(opt.seed + 29);
  writeF32(
    `${prefix}-target.f32`,
    new Float32Array(batch * N_CLASSES * voxels).map(() => (u() > 0.5 ? 1 : 0)),
  );
  const footprint = trainingFootprint(config, spatial, batch);
  const gflop = (2 * forwardMacs(config, spatial, true) * batch) / 1e9;
  log(
    `== MedNeXt-${model}${widthLabel()} k3 training step, ${batch}x4x${spatial.join('x')}, deep supervision, ` +
      `batch Dice + focal, Schedule-Free AdamW (lr ${opt.lr}, weight decay ${opt.weightDecay}); forward ${gflop.toFixed(1)} GFLOP`,
  );
  log(
    `   ${(footprint.parameters / 1e6).toFixed(2)} M parameters; the trainer keeps ${fmtMiB(footprint.keptPerSampleBytes)} ` +
      `of block inputs per sample (f32) and ${fmtMiB(footprint.parameterStateBytes)} of weights, gradients and optimizer state; ` +
      `largest binding ${fmtMiB(footprint.largestBinding.bytes)} (${footprint.largestBinding.what})`,
  );
  const task = {
    model,
    part: 'train',
    config,
    weights: `${prefix}.safetensors`,
    input: `${prefix}-input.f32`,
    inputShape: [batch, 4, ...spatial],
    target: `${prefix}-target.f32`,
    targetShape: [batch, N_CLASSES, ...spatial],
    loss: 'dice-focal',
    optimizer: { kind: 'schedulefree', lr: opt.lr, weightDecay: opt.weightDecay, warmupSteps: 0 },
    warmup: opt.trainWarmup,
    runs: opt.trainRuns,
    gpuBackend: opt.gpuBackend,
    threads: opt.cpuThreads,
  };
  const results = {};
  for (const engine of opt.engines) {
    if (!TRAIN_ENGINES.includes(engine)) {
      results[engine] = { engine, skipped: 'no training step (op-by-op tfjs-backend-webgpu is a forward peer)' };
      continue;
    }
    const t = { ...task };
    if (engine === 'cpu') {
      if (voxels > CPU_TRAIN_MAX_VOXELS) {
        results[engine] = {
          engine,
          skipped: `the tfjs CPU step runs up to ${CPU_TRAIN_MAX_VOXELS} voxels per sample (its tape needs tens of GiB at the paper's patch)`,
        };
        continue;
      }
      Object.assign(t, { backend: 'auto' });
    }
    if (engine === 'webgpu-f16') t.f16 = true;
    if (engine.startsWith('torch')) {
      if (!ctx.torch.ok) {
        results[engine] = { engine, skipped: `PyTorch: ${ctx.torch.why}` };
        continue;
      }
      Object.assign(t, { device: ctx.torch.cuda ? 'cuda' : 'cpu', autocast: engine === 'torch-fp16' });
    }
    if (engine.startsWith('webgpu') && ctx.adapter.error) {
      results[engine] = { engine, skipped: `no WebGPU adapter: ${ctx.adapter.error}` };
      continue;
    }
    results[engine] = await runEngine(engine, t, ctx.smi);
  }

  const ran = (e) => results[e] && !results[e].error && !results[e].unavailable && !results[e].skipped;
  const steady = (e) => (ran(e) ? (results[e].steadySeconds ?? results[e].firstSeconds) : undefined);
  const firstLoss = (e) => (ran(e) ? results[e].losses?.[0] : undefined);
  const reference = ['torch-fp32', 'cpu'].find((e) => typeof firstLoss(e) === 'number');
  const lossCheck = {};
  for (const e of Object.keys(results)) {
    const a = firstLoss(e);
    if (typeof a !== 'number' || !reference) continue;
    const b = firstLoss(reference);
    const rtol = isHalf(e) ? LOSS_RTOL_F16 : LOSS_RTOL_F32;
    const relDiff = e === reference ? 0 : Math.abs(a - b) / Math.abs(b);
    // The second step's loss is taken after one optimizer update: shown, not judged (Adam's first normalised step
    // is about lr·sign(g), so gradients near zero may step either way between engines).
    const a2 = results[e].losses?.[1];
    const b2 = results[reference].losses?.[1];
    const afterUpdateRelDiff =
      typeof a2 === 'number' && typeof b2 === 'number' ? Math.abs(a2 - b2) / Math.abs(b2) : undefined;
    lossCheck[e] = { loss: a, reference, relDiff, rtol, agrees: relDiff <= rtol, afterUpdateRelDiff }; // NaN fails
  }
  const hoursPerFold = (e) => (steady(e) === undefined ? undefined : (steady(e) * opt.iterations * opt.epochs) / 3600);

  log(
    `${'engine'.padEnd(12)} ${'first'.padStart(10)} ${'s/step'.padStart(10)} ${'pipelined'.padStart(10)} ${'GPU peak'.padStart(10)} ` +
      `${'GPU used*'.padStart(10)} ${'GPU idle'.padStart(9)} ${'h/fold'.padStart(7)}  first-step loss (vs ${reference ?? '—'})`,
  );
  const rows = {};
  for (const [engine, r] of Object.entries(results)) {
    if (!ran(engine)) {
      log(
        `${engine.padEnd(12)} ${r.skipped ? 'skipped' : r.unavailable ? 'unavailable' : 'FAILED'}: ${r.skipped ?? r.unavailable ?? r.error}`,
      );
    } else {
      const c = lossCheck[engine];
      const lossText = c
        ? `${c.loss.toPrecision(7)}${engine === c.reference ? ' (reference)' : ` rel diff ${c.relDiff.toExponential(1)} ${c.agrees ? 'ok' : 'DISAGREE'} (≤ ${c.rtol})`}`
        : '—';
      const idle = typeof r.gpuIdleMsSteady === 'number' ? `${r.gpuIdleMsSteady.toFixed(1)} ms` : '—';
      log(
        `${engine.padEnd(12)} ${fmtS(r.firstSeconds).padStart(10)} ${fmtS(steady(engine)).padStart(10)} ` +
          `${fmtS(r.pipelined?.secondsPerStep).padStart(10)} ` +
          `${fmtB(r.gpuPeakBytes).padStart(10)} ${fmtB(r.gpuUsedPeakBytes).padStart(10)} ${idle.padStart(9)} ` +
          `${hoursPerFold(engine).toFixed(1).padStart(7)}  ${lossText}`,
      );
    }
    rows[engine] = { ...r, hoursPerFold: hoursPerFold(engine) };
  }
  for (const [engine, r] of Object.entries(results)) {
    const errors = (r.nativeMessages ?? []).filter((m) => m.startsWith('Error'));
    if (errors.length) log(`  ${engine}: native errors (the step may be wrong): ${errors.slice(0, 3).join(' | ')}`);
  }
  log('  s/step = median of the steps after the warm-up (each from the batch on the host to the loss read back,');
  log('  the update included; PyTorch keeps the batch on the device); first = the first step (kernel compilation)');
  log('  pipelined = as many more steps called back to back, total / count (the trainer records each behind the');
  log('  previous one while the GPU runs it: the throughput of a loop that does not wait for each loss)');
  log(
    "  GPU peak = the engine's own count (trainer peakBytes(), torch.cuda.max_memory_allocated); GPU used* = nvidia-smi",
  );
  log("  GPU idle = per steady step, from the previous step done to this one submitted (the trainer's report)");
  log(
    `  h/fold = s/step x ${opt.iterations} iterations x ${opt.epochs} epochs / 3600: the training steps of one fold ` +
      'only (no validation, checkpoints or data loading beyond the measured GPU idle)',
  );
  const ratios = {
    'webgpu / torch-fp16 (must ≤ 2, aim ≤ 1)': ratio(steady('webgpu'), steady('torch-fp16')),
    'webgpu pipelined / torch-fp16': ratio(results.webgpu?.pipelined?.secondsPerStep, steady('torch-fp16')),
    'webgpu-f16 / torch-fp16': ratio(steady('webgpu-f16'), steady('torch-fp16')),
    'webgpu / torch-fp32': ratio(steady('webgpu'), steady('torch-fp32')),
    'webgpu / cpu': ratio(steady('webgpu'), steady('cpu')),
    'torch-fp32 / torch-fp16': ratio(steady('torch-fp32'), steady('torch-fp16')),
    'GPU peak webgpu / torch-fp16': ratio(results.webgpu?.gpuPeakBytes, results['torch-fp16']?.gpuPeakBytes),
    'GPU peak webgpu-f16 / torch-fp16': ratio(results['webgpu-f16']?.gpuPeakBytes, results['torch-fp16']?.gpuPeakBytes),
  };
  const shown = Object.entries(ratios).filter(([, v]) => v !== undefined);
  log(
    `  ratios: ${shown.length ? shown.map(([k, v]) => `${k} = ${v.toFixed(2)}`).join('; ') : 'none (too few engines ran)'}`,
  );
  const memory = {};
  for (const e of ['webgpu', 'webgpu-f16']) {
    const peak = ran(e) ? results[e].gpuPeakBytes : undefined;
    if (typeof peak === 'number')
      memory[e] = { peakBytes: peak, under24GB: peak < MEMORY_MUST_BYTES, under16GB: peak < MEMORY_AIM_BYTES };
  }
  // The goals are stated for the paper's step: MedNeXt at its width, batch 2, 128x160x112.
  const paperStep = opt.width === undefined && batch === 2 && spatial.join('x') === REFERENCE_PATCH.join('x');
  if (paperStep && Object.keys(memory).length) {
    log(
      `  memory goals (peak < 24 GB must, < 16 GB aim): ${Object.entries(memory)
        .map(
          ([e, m]) =>
            `${e} ${(m.peakBytes / 1e9).toFixed(2)} GB ${m.under16GB ? 'meets both' : m.under24GB ? 'meets 24 GB' : 'OVER 24 GB'}`,
        )
        .join('; ')}`,
    );
  }
  const disagreeing = Object.entries(lossCheck).filter(([, c]) => !c.agrees);
  log(
    reference
      ? `  first-step losses: ${disagreeing.length ? `DISAGREE: ${disagreeing.map(([e]) => e).join(', ')}` : 'all agree'} ` +
          `(|a − ${reference}| ≤ rtol·|${reference}|: ${LOSS_RTOL_F32} float32, ${LOSS_RTOL_F16} f16/autocast)`
      : '  first-step losses: no reference engine ran (torch-fp32 or cpu)',
  );
  const afterUpdate = Object.entries(lossCheck).filter(
    ([e, c]) => e !== reference && c.afterUpdateRelDiff !== undefined,
  );
  if (afterUpdate.length) {
    log(
      `  second-step losses (after one Schedule-Free update), relative difference to ${reference}: ` +
        afterUpdate.map(([e, c]) => `${e} ${c.afterUpdateRelDiff.toExponential(1)}`).join(', '),
    );
  }
  log();
  return {
    model,
    part: 'train',
    patch: spatial,
    batch,
    width: config.n_channels,
    forwardGflop: gflop,
    footprint,
    recipe: { epochs: opt.epochs, iterationsPerEpoch: opt.iterations, lr: opt.lr, weightDecay: opt.weightDecay },
    engines: rows,
    lossCheck,
    lossesAgree: Boolean(reference) && disagreeing.length === 0,
    memory,
    ratios: Object.fromEntries(shown),
  };
}

/** The largest |a − b| / (1e-4 + 1e-4·|b|): the fixtures' float32 tolerance is met when it is at most 1 (NaN fails). */
function toleranceRatio(a, b) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const r = Math.abs(a[i] - b[i]) / (FP32_ATOL + FP32_RTOL * Math.abs(b[i]));
    if (!(r <= worst)) worst = r; // also takes NaN
  }
  return worst;
}

function maxAbs(a) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

// ---- the run ---------------------------------------------------------------------------------------------------
const started = new Date();
/** When engines stop being started (--deadline-min; the report is still written). */
const deadline = opt.deadlineMin === undefined ? Infinity : started.getTime() + opt.deadlineMin * 60e3;
const smi = nvidiaSmi();
const wantsGpu = opt.engines.some((e) => e.includes('webgpu'));
const adapter = wantsGpu ? probeAdapter() : { error: 'no WebGPU engine requested' };
const torch = opt.engines.some((e) => e.startsWith('torch')) ? probeTorch() : { ok: false, why: 'not requested' };
log(`MedNeXt GPU benchmark, ${started.toISOString()}`);
log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} logical CPUs, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, load ${load1().toFixed(2)}`,
);
log(`GPU (nvidia-smi): ${smi ? `${smi.name}, driver ${smi.driver}, ${smi.memory}` : 'none found'}`);
if (adapter.error) log(`WebGPU adapter: none (${adapter.error})`);
else {
  log(
    `WebGPU adapter: ${adapter.adapter} [${adapter.device || '?'}] via ${adapter.backend}${adapter.software ? ' (SOFTWARE: timings say nothing about a GPU)' : ''}`,
  );
  log(
    `  vendor ${adapter.vendor || '?'}, architecture ${adapter.architecture || '?'}; shader-f16 ${adapter.shaderF16 ? 'yes' : 'no'}`,
  );
  log(
    `  limits: ${Object.entries(adapter.limits)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  log(`  features: ${adapter.features.join(', ') || 'none'}`);
}
log(
  `PyTorch: ${torch.ok ? `${torch.version} on ${torch.cuda ? `CUDA (${torch.device})` : 'CPU (no CUDA device)'}` : `skipped (${torch.why})`}`,
);
log(`engines: ${opt.engines.join(', ')}; CPU engine threads ${opt.cpuThreads}; warmup ${opt.warmup}, runs ${opt.runs}`);
if (opt.parts.includes('train')) {
  log(
    `train part: ${opt.trainConfigs.join(', ')} at ${opt.batch}x4x${opt.trainPatch.join('x')}${widthLabel()}; ` +
      `warmup ${opt.trainWarmup}, runs ${opt.trainRuns}; recipe ${opt.epochs} epochs x ${opt.iterations} iterations`,
  );
}
log();

// Up front, before any engine spends the machine's time: a training patch the adapter cannot hold is refused here.
if (opt.parts.includes('train') && !adapter.error && opt.engines.some((e) => e.startsWith('webgpu'))) {
  const gpuMemory = smi ? Number.parseFloat(smi.memory) * 2 ** 20 : undefined; // nvidia-smi: "81559 MiB"
  for (const model of opt.trainConfigs) {
    const problem = trainingLimitProblem(
      trainingFootprint(trainConfig(model), opt.trainPatch, opt.batch),
      adapter.limits,
      gpuMemory,
    );
    if (problem) {
      if (!opt.keep) rmSync(work, { recursive: true, force: true });
      fail(
        `the WebGPU training step of MedNeXt-${model} at ${opt.batch}x4x${opt.trainPatch.join('x')} cannot run on ` +
          `${adapter.adapter}: ${problem}. Use a smaller --train-patch or --batch, or leave webgpu and webgpu-f16 out of --engines.`,
      );
    }
  }
}

const results = [];
for (const part of opt.parts)
  for (const model of part === 'train' ? opt.trainConfigs : opt.configs)
    results.push(await PARTS[part](model, { smi, adapter, torch }));

const report = {
  date: started.toISOString(),
  finished: new Date().toISOString(),
  machine: {
    cpu: os.cpus()[0]?.model,
    logicalCpus: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    node: process.version,
    load1End: load1(),
  },
  nvidiaSmi: smi ?? null,
  adapter,
  torch,
  options: opt,
  results,
  report: lines,
};
const tmp = `${opt.json}.partial-${process.pid}`;
writeFileSync(tmp, JSON.stringify(report, null, 2));
renameSync(tmp, opt.json);
log(`results: ${opt.json}`);
if (!opt.keep) rmSync(work, { recursive: true, force: true });
