// Benchmark: one full-size BraTS case (240x240x155, fixture 09), all regions of task `ped`
// (and `ssa` for reference), with the SciPy reference timed in the same run when available.
// Usage: npm run bench -w @mednext-ts/metrics   (build first: npx tsc -b)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { evaluateCase } from '../dist/index.js';

const CASE = fileURLToPath(new URL('../test/fixtures/brats-metrics/09_full_size_240x240x155/', import.meta.url));
const REFERENCE = fileURLToPath(new URL('./reference.py', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const PY = '/usr/bin/python3';

/** Minimal NIfTI-1 reader for the uint8 fixture (x-fastest on disk -> C order). */
function readLabels(file) {
  const b = gunzipSync(readFileSync(file));
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const [nx, ny, nz] = [v.getInt16(42, true), v.getInt16(44, true), v.getInt16(46, true)];
  if (v.getInt16(70, true) !== 2) throw new Error(`${file}: expected uint8 labels`);
  const off = v.getFloat32(108, true);
  const data = new Uint8Array(nx * ny * nz);
  for (let z = 0, f = off; z < nz; z++)
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, f++) data[(x * ny + y) * nz + z] = b[f];
  return { data, shape: [nx, ny, nz], spacing: [1, 1, 1] };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const gt = readLabels(CASE + 'gt.nii.gz');
const pred = readLabels(CASE + 'pred.nii.gz');

function timeTask(task) {
  evaluateCase({ gt, pred, task }); // warm-up (JIT)
  const wall = [];
  const cpu = [];
  let result;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    result = evaluateCase({ gt, pred, task });
    const u = process.cpuUsage(c);
    wall.push((performance.now() - t) / 1000);
    cpu.push((u.user + u.system) / 1e6);
  }
  return { wall: median(wall), cpu: median(cpu), result };
}

console.log(
  `metrics bench: 240x240x155 case, ${RUNS} runs (median), load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`,
);
const results = {};
for (const task of ['ped', 'ssa']) {
  const r = timeTask(task);
  results[task] = r;
  console.log(
    `  ${task}: ${r.wall.toFixed(3)} s wall, ${r.cpu.toFixed(3)} s CPU (all ${Object.keys(r.result.regions).length} regions)`,
  );
}

const hasScipy = spawnSync(PY, ['-c', 'import scipy, nibabel'], { stdio: 'ignore' }).status === 0;
if (!hasScipy) {
  console.log('  SciPy reference: skipped (python3-scipy / python3-nibabel not installed)');
} else {
  const p = spawnSync(PY, [REFERENCE, CASE + 'gt.nii.gz', CASE + 'pred.nii.gz', 'ped', '--repeat', '2'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (p.status !== 0) throw new Error(`reference failed: ${p.stderr}`);
  const ref = JSON.parse(p.stdout);
  const refTime = Math.min(...ref.seconds);
  let maxDiff = 0;
  for (const [region, fields] of Object.entries(ref.regions))
    for (const [k, v] of Object.entries(fields))
      maxDiff = Math.max(maxDiff, Math.abs(results.ped.result.regions[region][k] - v));
  console.log(`  ped SciPy reference (official-style whole-volume ops): ${refTime.toFixed(3)} s wall (best of 2)`);
  console.log(
    `  ratio: ${(refTime / results.ped.wall).toFixed(1)}x faster than the SciPy reference; max |difference| ${maxDiff.toExponential(1)}`,
  );
}
