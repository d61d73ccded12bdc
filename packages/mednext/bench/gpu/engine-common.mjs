// Shared by the GPU benchmark's engine processes: the model with the task's weights, the timed loop over one
// forward function, and the result record.
import { readFileSync } from 'node:fs';
import { MedNeXt, loadStateDict, parseSafetensors } from '../../dist/index.js';
import { emitResult, load1, maxRssBytes, median, readF32, readTask, writeF32 } from '../common.mjs';

/** The task of this engine process (see gpu-bench.mjs) and the 1-minute load at its start. */
export function startTask() {
  return { task: readTask(), load1Start: load1() };
}

/** The benchmark's MedNeXt with the task's seeded weights (tfjs variables on the current backend). */
export function loadModel(task) {
  const model = MedNeXt.create(task.config, { seed: 0 });
  const st = parseSafetensors(new Uint8Array(readFileSync(task.weights)), task.weights);
  loadStateDict(model, st.tensors);
  return model;
}

/** The task's NCDHW input. */
export function loadInput(task) {
  return readF32(task.input);
}

/**
 * Runs `forward` 1 + warmup + runs times (each returns the main output, already on the host, so every time includes
 * the device's work and the download), writes the first output to `task.output`, and returns the times.
 * `afterRun` is called after each run (memory sampling).
 */
export async function timeForwards(task, label, forward, afterRun = () => {}) {
  const times = [];
  const total = 1 + task.warmup + task.runs;
  for (let r = 0; r < total; r++) {
    const t0 = performance.now();
    const out = await forward();
    const seconds = (performance.now() - t0) / 1e3;
    times.push(seconds);
    afterRun(r);
    if (r === 0) {
      if (task.output) writeF32(task.output, out);
      task.startupToFirstSeconds = (Date.now() - task.spawnedAt) / 1e3;
    }
    process.stderr.write(`  ${label} ${task.model} forward run ${r}/${total - 1}: ${seconds.toFixed(3)} s\n`);
  }
  return times;
}

/** Prints the engine's result line and ends the process (Dawn's threads would keep it alive). */
export function finish(task, load1Start, record) {
  const times = record.runs ?? [];
  emitResult({
    firstSeconds: times[0],
    startupToFirstSeconds: task.startupToFirstSeconds,
    steadySeconds: times.length > 1 + task.warmup ? median(times.slice(1 + task.warmup)) : undefined,
    maxRssBytes: maxRssBytes(),
    load1Start,
    load1End: load1(),
    ...record,
  });
  process.exit(0);
}
