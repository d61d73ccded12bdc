// Whole-patch MedNeXt forward with the fused WebAssembly blocks against the composite path (the same tfjs ops
// with the fast kernels, `forward(x, { fused: false })`), each in a fresh process so each peak RSS is its own.
// Prints first-patch and steady-state seconds (wall and CPU of all threads: on a shared machine the CPU
// seconds are the steadier figure), peak RSS, the ratios fused/composite, and how far the two
// outputs differ (they must agree within 1e-4 relative).
//
//   npm run bench:fused -w @mednext-ts/mednext                       # MedNeXt-B k3, 1x4x128x160x112 (minutes)
//   node bench/fused-forward.mjs --patch 64x80x48 --runs 2 --threads 1
//
// Options: --patch DxHxW (128x160x112)  --runs N steady-state runs after the first (1)  --threads N (auto)
//          --preset S|B|M|L (B)  --kernel 3|5 (3)  --backend auto|cpu|wasm (auto: fast kernels on)
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const opts = {
  patch: option('patch', '128x160x112'),
  runs: Number(option('runs', '1')),
  threads: option('threads', ''),
  preset: option('preset', 'B'),
  kernel: Number(option('kernel', '3')),
  backend: option('backend', 'auto'),
};

/** Child: one mode, prints one JSON line. */
async function child(mode, outFile) {
  const tf = await import('@tensorflow/tfjs-core');
  const { selectBackend, wasmKernels } = await import('@mednext-ts/tensor3d');
  const { MedNeXt, presetConfig, summarize, toNcdhw, toNdhwc } = await import('../dist/index.js');
  const patch = opts.patch.split('x').map(Number);
  const threads = opts.threads ? Number(opts.threads) : undefined;
  const choice = await selectBackend(opts.backend, { fastKernels: { threads } });
  const config = presetConfig(opts.preset, { kernelSize: opts.kernel });
  const model = MedNeXt.create(config, { seed: 0 });
  const x = tf.randomNormal([1, 4, ...patch], 0, 1, 'float32', 1);
  const times = [];
  const cpu = [];
  let out;
  for (let r = 0; r <= opts.runs; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage(); // every thread of the process, the kernel workers included
    const y = tf.tidy(() => toNcdhw(model.forward(toNdhwc(x), { deepSupervision: false, fused: mode === 'fused' })[0]));
    const data = await y.data();
    y.dispose();
    times.push((performance.now() - t0) / 1e3);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
    process.stderr.write(`  ${mode} run ${r}: ${times[r].toFixed(2)} s (CPU ${cpu[r].toFixed(2)} s)\n`);
    if (r === 0) out = data;
  }
  writeFileSync(outFile, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  const steady = times.slice(1).sort((a, b) => a - b);
  const result = {
    mode,
    backend: choice.backend,
    fastKernels: wasmKernels.fastKernelsActive(),
    threads: wasmKernels.getKernelRuntime().threads,
    gflop: summarize(config, patch).totalFlops / 1e9,
    first: times[0],
    firstCpu: cpu[0],
    steadyCpu: cpu.length > 1 ? cpu.slice(1).sort((a, b) => a - b)[Math.floor((cpu.length - 2) / 2)] : null,
    steady: steady.length ? steady[Math.floor((steady.length - 1) / 2)] : null,
    maxRssGiB: (process.resourceUsage().maxRSS * 1024) / 2 ** 30,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0); // the kernel runtime's worker threads would keep the process alive
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4]);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'mednext-fused-'));
  const results = {};
  const outputs = {};
  try {
    for (const mode of ['composite', 'fused']) {
      const outFile = join(dir, `${mode}.f32`);
      const r = spawnSync(
        process.execPath,
        [fileURLToPath(import.meta.url), '--child', mode, outFile, ...process.argv.slice(2)],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
          encoding: 'utf8',
        },
      );
      if (r.status !== 0) throw new Error(`fused-forward.mjs: the ${mode} process failed (status ${r.status})`);
      results[mode] = JSON.parse(r.stdout.trim().split('\n').pop());
      const b = readFileSync(outFile);
      outputs[mode] = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const { composite: c, fused: f } = results;
  let maxAbs = 0;
  let maxRatio = 0;
  for (let i = 0; i < outputs.fused.length; i++) {
    const d = Math.abs(outputs.fused[i] - outputs.composite[i]);
    maxAbs = Math.max(maxAbs, d);
    maxRatio = Math.max(maxRatio, d / (1e-4 + 1e-4 * Math.abs(outputs.composite[i])));
  }
  const fmt = (s) => (s === null || s === undefined ? '-' : `${s.toFixed(2)} s`);
  console.log(
    `MedNeXt-${opts.preset} k${opts.kernel}, 1x4x${opts.patch}, ${c.gflop.toFixed(1)} GFLOP, backend ${f.backend}, ` +
      `fast kernels ${f.fastKernels ? 'on' : 'off'}, ${f.threads} thread(s)`,
  );
  for (const r of [c, f]) {
    const gflops = r.steady ? ` (${(r.gflop / r.steady).toFixed(1)} GFLOP/s)` : '';
    console.log(
      `  ${r.mode.padEnd(9)} first ${fmt(r.first)} (CPU ${fmt(r.firstCpu)}), steady ${fmt(r.steady)} ` +
        `(CPU ${fmt(r.steadyCpu)})${gflops}, peak RSS ${r.maxRssGiB.toFixed(2)} GiB`,
    );
  }
  const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : '-');
  console.log(
    `  fused/composite: first ${ratio(f.first, c.first)}, steady ${ratio(f.steady, c.steady)}, ` +
      `CPU first ${ratio(f.firstCpu, c.firstCpu)}, CPU steady ${ratio(f.steadyCpu, c.steadyCpu)}, ` +
      `peak RSS ${ratio(f.maxRssGiB, c.maxRssGiB)}`,
  );
  console.log(
    `  outputs: max |fused - composite| ${maxAbs.toExponential(2)}, ` +
      `max ratio to 1e-4 + 1e-4|ref| ${maxRatio.toFixed(3)} (${maxRatio <= 1 ? 'within' : 'OUTSIDE'} tolerance)`,
  );
}
