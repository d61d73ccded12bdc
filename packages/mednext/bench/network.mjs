// Whole-network CPU benchmark of MedNeXt: our tfjs network (backend `auto` + the project's WebAssembly
// kernels) against onnxruntime-node (our weights exported to ONNX, its best setting: fixed shape, 2 threads,
// spinning off) and PyTorch CPU (a MedNeXt written from the spec, same weights) when /usr/bin/python3 has
// torch. Each engine runs in its own process, so each peak RSS is its own.
//
//   npm run bench                      # full: B and M forward at 1x4x128x160x112, B training step at 64^3
//   npm run bench -- --quick           # smoke run (~1 min): small patches, B only, 1 timed run
//   node bench/network.mjs --models B --engines ours,ort --parts forward --patch 64x64x64 --runs 2
//
// Options: --patch DxHxW  --train-patch DxHxW  --models B,M  --engines ours,ort,torch  --parts forward,train
//          --warmup N (1)  --runs N (3)  (ours)  --ort-warmup N (1)  --ort-runs N (3)  --torch-warmup N (0)  --torch-runs N (1)  --threads N (2)  --seed N (0)
//          --backend auto|wasm|cpu  --no-fast-kernels  --ort-spinning  --ort-dynamic  --python PATH  --json FILE  --keep DIR
//          --profile (per-kernel times of one more forward of ours: tfjs kernels and the WebAssembly kernels' dispatches)
//          --max-rss-gib G (14) --timeout-min M (30): stop an engine process beyond these (shared machine)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { clearInterval, setInterval } from 'node:timers';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mednextToOnnx, serializeSafetensors } from '../dist/index.js';
import { RESULT_TAG, compareOutputs, load1, parseArgs, parseShape, readF32, writeF32 } from './common.mjs';
import { benchConfig, forwardMacs, normal, rng, seededWeights } from './prepare.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
// Extra arguments may come from the environment, since the root `npm run bench` cannot forward any:
// MEDNEXT_BENCH_ARGS="--models B --parts forward", or `npm run bench --quick` (npm sets npm_config_quick).
const envArgs = (process.env.MEDNEXT_BENCH_ARGS ?? '').split(/\s+/).filter(Boolean);
if (process.env.npm_config_quick === 'true') envArgs.push('--quick');
const args = parseArgs([...envArgs, ...process.argv.slice(2)]);
const KNOWN = [
  'quick',
  'patch',
  'train-patch',
  'models',
  'engines',
  'parts',
  'warmup',
  'runs',
  'ort-warmup',
  'ort-runs',
  'torch-warmup',
  'torch-runs',
  'threads',
  'seed',
  'backend',
  'no-fast-kernels',
  'ort-spinning',
  'ort-dynamic',
  'python',
  'profile',
  'max-rss-gib',
  'timeout-min',
  'json',
  'keep',
  'help',
];
if (args.help) {
  // The usage is the comment block at the top of this file.
  const source = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  process.stdout.write(`${source.split('\nimport ')[0].replace(/^\/\/ ?/gm, '')}\n`);
  process.exit(0);
}
const unknown = Object.keys(args).filter((k) => !KNOWN.includes(k));
if (unknown.length) {
  process.stderr.write(`network.mjs: unknown option(s) ${unknown.map((k) => `--${k}`).join(', ')} (see --help)\n`);
  process.exit(2);
}
const quick = !!args.quick;
const opt = {
  patch: parseShape(args.patch ?? (quick ? '32x32x32' : '128x160x112'), '--patch'),
  trainPatch: parseShape(args['train-patch'] ?? (quick ? '32x32x32' : '64x64x64'), '--train-patch'),
  models: String(args.models ?? (quick ? 'B' : 'B,M')).split(','),
  engines: String(args.engines ?? 'ours,ort,torch').split(','),
  parts: String(args.parts ?? 'forward,train').split(','),
  warmup: Number(args.warmup ?? 1),
  runs: Number(args.runs ?? (quick ? 1 : 3)),
  ortWarmup: Number(args['ort-warmup'] ?? 1),
  ortRuns: Number(args['ort-runs'] ?? (quick ? 1 : 3)),
  torchWarmup: Number(args['torch-warmup'] ?? 0),
  torchRuns: Number(args['torch-runs'] ?? 1),
  threads: Number(args.threads ?? 2),
  seed: Number(args.seed ?? 0),
  backend: args.backend ?? 'auto',
  fastKernels: !args['no-fast-kernels'],
  ortSpinning: !!args['ort-spinning'],
  ortDynamic: !!args['ort-dynamic'],
  python: args.python ?? '/usr/bin/python3',
  profile: !!args.profile,
  maxRssGiB: Number(args['max-rss-gib'] ?? 14),
  timeoutMin: Number(args['timeout-min'] ?? 30),
};
for (const m of opt.models) if (!['S', 'B', 'M', 'L'].includes(m)) throw new Error(`--models: unknown preset '${m}'`);
for (const e of opt.engines) if (!['ours', 'ort', 'torch'].includes(e)) throw new Error(`--engines: unknown '${e}'`);
for (const p of opt.parts) if (!['forward', 'train'].includes(p)) throw new Error(`--parts: unknown '${p}'`);

const work = args.keep ? path.resolve(String(args.keep)) : mkdtempSync(path.join(os.tmpdir(), 'mednext-bench-'));
mkdirSync(work, { recursive: true });
const log = (line = '') => process.stdout.write(`${line}\n`);
const gib = (bytes) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

/** Whether the Python has torch; returns its version or a reason. */
function probeTorch() {
  const r = spawnSync(opt.python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.error) return { ok: false, why: `${opt.python}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, why: `${opt.python} has no torch (apt-get install python3-torch)` };
  return { ok: true, version: r.stdout.trim() };
}

/** Resident set size of a process in bytes (Linux /proc; 0 where unavailable). */
function residentBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs one engine process on a task; resolves to its parsed result (or an error record). */
function runEngine(engine, task) {
  const file = path.join(work, `task-${engine}-${task.model}-${task.part}.json`);
  const [cmd, script] =
    engine === 'torch'
      ? [opt.python, path.join(here, 'torch_mednext.py')]
      : [process.execPath, path.join(here, `engine-${engine}.mjs`)];
  writeFileSync(file, JSON.stringify({ ...task, engine, spawnedAt: Date.now() }));
  return new Promise((resolve) => {
    const child = spawn(cmd, [script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let killedFor;
    const started = Date.now();
    // Watchdog: the machine is shared, so an engine that outgrows --max-rss-gib or --timeout-min is stopped.
    const watchdog = setInterval(() => {
      const rss = residentBytes(child.pid);
      const minutes = (Date.now() - started) / 60e3;
      if (rss > opt.maxRssGiB * 2 ** 30)
        killedFor = `resident memory ${gib(rss)} exceeded --max-rss-gib ${opt.maxRssGiB}`;
      else if (minutes > opt.timeoutMin) killedFor = `still running after --timeout-min ${opt.timeoutMin}`;
      if (killedFor) {
        killedFor += ` (${minutes.toFixed(1)} min after start)`;
        child.kill('SIGKILL');
        clearInterval(watchdog);
      }
    }, 1000);
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      const line = out.split('\n').find((l) => l.startsWith(RESULT_TAG));
      if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT_TAG.length)));
      else if (killedFor) resolve({ engine, error: `stopped: ${killedFor}` });
      else resolve({ engine, error: `exited with ${signal ?? code}: ${out.trim().split('\n').slice(-3).join(' | ')}` });
    });
  });
}

const torch = opt.engines.includes('torch') ? probeTorch() : { ok: false, why: 'not requested' };
const engines = opt.engines.filter((e) => e !== 'torch' || torch.ok);
log(`MedNeXt whole-network CPU benchmark, ${new Date().toISOString()}`);
log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} logical CPUs, ${gib(os.totalmem())} RAM, ` +
    `Node ${process.version}; 1-min load average now ${load1().toFixed(2)} (about ${os.cpus().length} = only this job)`,
);
log(`engines: ${engines.join(', ')}${torch.ok ? ` (torch ${torch.version})` : ` (PyTorch skipped: ${torch.why})`}`);
log(`threads ${opt.threads}; forward patch 1x4x${opt.patch.join('x')}; training patch 1x4x${opt.trainPatch.join('x')}`);
log(`files in ${work}`);
log();

const results = [];
const inputShape = (s) => [1, 4, ...s];
for (const part of opt.parts) {
  // Training is measured for B only (the issue's ask); M's step is the same code with more blocks.
  const models =
    part === 'train'
      ? opt.models.filter((m) => m === 'B').concat(opt.models.includes('B') ? [] : [opt.models[0]])
      : opt.models;
  for (const model of models) {
    const spatial = part === 'train' ? opt.trainPatch : opt.patch;
    const ds = part === 'train';
    const config = benchConfig(model, ds);
    const weights = seededWeights(config, opt.seed * 1000 + model.charCodeAt(0));
    const prefix = path.join(work, `${model}-${part}`);
    writeFileSync(`${prefix}.safetensors`, serializeSafetensors(weights));
    const voxels = spatial[0] * spatial[1] * spatial[2];
    writeF32(`${prefix}-input.f32`, normal(4 * voxels, opt.seed + 17));
    const task = {
      model,
      part,
      config,
      weights: `${prefix}.safetensors`,
      input: `${prefix}-input.f32`,
      inputShape: inputShape(spatial),
      threads: opt.threads,
      warmup: opt.warmup,
      runs: opt.runs,
      backend: opt.backend,
      fastKernels: opt.fastKernels,
      spinning: opt.ortSpinning,
      profile: opt.profile,
    };
    if (ds) {
      const u = rng(opt.seed + 29);
      const target = new Float32Array(3 * voxels).map(() => (u() > 0.5 ? 1 : 0));
      writeF32(`${prefix}-target.f32`, target);
      Object.assign(task, { target: `${prefix}-target.f32`, targetShape: [1, 3, ...spatial] });
    }
    if (part === 'forward' && engines.includes('ort')) {
      // Fixed shapes were faster in ort-peer-bench.md; --ort-dynamic exports symbolic D/H/W (lower peak memory).
      const onnx = mednextToOnnx(config, weights, opt.ortDynamic ? {} : { spatialShape: spatial, batchSize: 1 });
      writeFileSync(`${prefix}.onnx`, onnx);
      task.onnx = `${prefix}.onnx`;
    }
    const gflop = (2 * forwardMacs(config, spatial, false)) / 1e9;
    log(
      `== MedNeXt-${model} k3 ${part}, 1x4x${spatial.join('x')}${part === 'forward' ? `, ${gflop.toFixed(1)} GFLOP` : ', deep supervision, Dice+BCE, AdamW'}`,
    );
    const byEngine = {};
    for (const engine of engines) {
      if (engine === 'ort' && part === 'train') continue; // onnxruntime-node has no training
      const counts = {
        ours: [opt.warmup, opt.runs],
        ort: [opt.ortWarmup, opt.ortRuns],
        torch: [opt.torchWarmup, opt.torchRuns],
      };
      const t = {
        ...task,
        warmup: counts[engine][0],
        runs: counts[engine][1],
        output: part === 'forward' ? `${prefix}-out-${engine}.f32` : undefined,
      };
      let r = await runEngine(engine, t);
      if (engine === 'ours' && r.error && !r.error.startsWith('stopped') && opt.backend === 'auto') {
        // Say so, then still measure ours on the plain cpu backend (the fast kernels are registered there too).
        log(`  ours  FAILED on backend auto: ${r.error}`);
        log('  ours  retrying with --backend cpu');
        r = await runEngine(engine, { ...t, backend: 'cpu' });
        r.autoFailed = true;
      }
      r.model = model;
      r.part = part;
      r.gflop = part === 'forward' ? gflop : undefined;
      byEngine[engine] = r;
      results.push(r);
      if (r.error) log(`  ${engine}: FAILED ${r.error}`);
      else {
        const steady = Number.isFinite(r.steadySeconds) ? r.steadySeconds : r.firstSeconds;
        const rate = part === 'forward' ? `, ${(gflop / steady).toFixed(1)} GFLOP/s` : '';
        log(
          `  ${engine.padEnd(5)} first ${r.firstSeconds.toFixed(2)} s (process start → first result ${r.startupToFirstSeconds.toFixed(1)} s), ` +
            `steady ${steady.toFixed(2)} s${rate} [runs ${r.runs.map((s) => s.toFixed(2)).join(', ')}; ` +
            `CPU s per run ${r.cpuRuns.map((s) => s.toFixed(1)).join(', ')}], ` +
            `peak RSS ${gib(r.maxRssBytes)}, cpu ${r.cpu.user.toFixed(0)}+${r.cpu.system.toFixed(0)} s (user+sys), ` +
            `load ${r.load1Start.toFixed(1)}→${r.load1End.toFixed(1)}`,
        );
        if (r.profile) {
          const wall = r.profile.wallSeconds;
          log(`        profile of one more forward (${wall.toFixed(2)} s wall; % of that wall time):`);
          for (const [label, list] of [
            ['tfjs kernels (tf.profile)', r.profile.tfjs],
            ['WebAssembly kernels (their dispatches)', r.profile.wasm],
          ]) {
            if (!list.length) continue;
            const total = list.reduce((a, k) => a + k.seconds, 0);
            log(`          ${label}, ${total.toFixed(2)} s in all:`);
            for (const k of list.slice(0, 12)) {
              log(
                `            ${k.kernel.padEnd(30)} ${String(k.calls).padStart(5)} calls ${k.seconds.toFixed(2).padStart(8)} s ${((100 * k.seconds) / wall).toFixed(1).padStart(5)} %`,
              );
            }
          }
        }
        if (engine === 'ours')
          log(
            `        backend ${r.info.backend}, fast kernels: ${r.info.fastKernels.length ? r.info.fastKernels.join(' ') : 'none'}, threads ${r.info.threads}${r.info.threadFallback ? ` (${r.info.threadFallback})` : ''}`,
          );
      }
    }
    const ours = byEngine.ours;
    for (const other of ['ort', 'torch']) {
      const o = byEngine[other];
      if (!ours || ours.error || !o || o.error) continue;
      const steady = (r) => (Number.isFinite(r.steadySeconds) ? r.steadySeconds : r.firstSeconds);
      log(
        `  ratio ours/${other}: steady ${(steady(ours) / steady(o)).toFixed(2)}x, first ${(ours.firstSeconds / o.firstSeconds).toFixed(2)}x, ` +
          `peak RSS ${(ours.maxRssBytes / o.maxRssBytes).toFixed(2)}x (below 1 = ours is faster / smaller)`,
      );
    }
    if (part === 'forward') {
      const done = engines.filter((e) => byEngine[e] && !byEngine[e].error);
      for (let i = 0; i < done.length; i++) {
        for (let j = i + 1; j < done.length; j++) {
          const c = compareOutputs(readF32(`${prefix}-out-${done[i]}.f32`), readF32(`${prefix}-out-${done[j]}.f32`), 3);
          log(
            `  outputs ${done[i]} vs ${done[j]}: max |diff| ${c.maxAbs.toExponential(2)} (max |logit| ${c.maxRef.toFixed(2)}), ` +
              `arg-max agrees on ${(100 * c.argmaxAgree).toFixed(4)} % of voxels`,
          );
        }
      }
    }
    log();
  }
}
if (args.json)
  writeFileSync(String(args.json), JSON.stringify({ date: new Date().toISOString(), options: opt, results }, null, 2));
if (!args.keep) rmSync(work, { recursive: true, force: true });
