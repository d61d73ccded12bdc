// Engine process of the whole-network benchmark: onnxruntime-node (CPU) on our exported ONNX model, at the
// setting that was fastest in ../../../../shared/research/ort-peer-bench.md: fixed input shape, graph
// optimisation 'all', `threads` intra-op threads with spinning off, sequential execution.
// Usage (from network.mjs): node engine-ort.mjs TASK.json
import ort from 'onnxruntime-node';
import { cpuSeconds, emitResult, load1, maxRssBytes, median, readF32, readTask, writeF32 } from './common.mjs';

const task = readTask();
const load1Start = load1();
const t0 = performance.now();
const session = await ort.InferenceSession.create(task.onnx, {
  executionProviders: ['cpu'],
  intraOpNumThreads: task.threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: task.spinning ? '1' : '0' } } },
});
const sessionSeconds = (performance.now() - t0) / 1e3;
const input = new ort.Tensor('float32', readF32(task.input), task.inputShape);

const times = [];
const cpuRuns = [];
let startupToFirstSeconds;
const total = 1 + task.warmup + task.runs;
for (let r = 0; r < total; r++) {
  const t1 = performance.now();
  const c0 = process.cpuUsage();
  const result = await session.run({ input });
  const seconds = (performance.now() - t1) / 1e3;
  const c = process.cpuUsage(c0);
  times.push(seconds);
  cpuRuns.push((c.user + c.system) / 1e6);
  if (r === 0) {
    startupToFirstSeconds = (Date.now() - task.spawnedAt) / 1e3;
    if (task.output) writeF32(task.output, result.output.data);
  }
  for (const t of Object.values(result)) t.dispose?.();
  process.stderr.write(`  ort  ${task.model} ${task.part} run ${r}/${total - 1}: ${seconds.toFixed(2)} s\n`);
}
emitResult({
  engine: 'ort',
  firstSeconds: times[0],
  startupToFirstSeconds,
  runs: times,
  cpuRuns,
  steadySeconds: median(times.slice(1 + task.warmup)),
  maxRssBytes: maxRssBytes(),
  cpu: cpuSeconds(),
  load1Start,
  load1End: load1(),
  info: {
    ortVersion: ort.env.versions?.common ?? 'unknown',
    sessionSeconds,
    threads: task.threads,
    spinning: !!task.spinning,
  },
});
await session.release();
process.exit(0);
