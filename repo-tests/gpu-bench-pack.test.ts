/**
 * The GPU benchmark pack (`npm run gpu-bench:pack`): packed into a temporary folder with `--fast` (gzip instead of
 * xz, seconds instead of minutes), then run from the packed folder — its own Node, its own Dawn, the Vulkan loader
 * from its .deb files — on this machine's software adapter (Dawn's OpenGL ES backend on Mesa llvmpipe) at a
 * 16x16x32 patch (PyTorch refuses GroupNorm over a single voxel, which a 16³ patch has at the bottleneck), and its
 * training part at the same patch with a narrow MedNeXt-B (n_channels 4, batch 2). The JSON it writes must hold
 * the adapter, positive times, finite output differences and first-step losses that agree between the engines;
 * PyTorch runs when `python3` has torch and is otherwise skipped with the reason in the report (the test does not
 * need Python). A training patch beyond the adapter's storage binding is refused up front.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, sh, tempDir } from './helpers.js';

const BENCH = path.join(REPO_ROOT, 'packages/mednext/bench/gpu');
const PACK = path.join(BENCH, 'pack.mjs');

interface Diff {
  maxAbs: number;
  argmaxAgree: number;
  toleranceRatio: number;
}
interface EngineRecord {
  engine: string;
  firstSeconds?: number;
  steadySeconds?: number;
  runs?: number[];
  gpuPeakBytes?: number;
  vsCpu?: Diff;
  skipped?: string;
  unavailable?: string;
  error?: string;
  losses?: number[];
  hoursPerFold?: number;
  gpuIdleMs?: number[];
  pipelined?: { steps: number; secondsPerStep: number; losses: number[] };
}
interface LossCheck {
  loss: number;
  reference: string;
  relDiff: number;
  rtol: number;
  agrees: boolean;
}
interface TrainResult {
  model: string;
  part: 'train';
  patch: number[];
  batch: number;
  width: number;
  engines: Record<string, EngineRecord>;
  lossCheck: Record<string, LossCheck>;
  lossesAgree: boolean;
  recipe: { epochs: number; iterationsPerEpoch: number };
  footprint: { parameters: number; largestBinding: { bytes: number; what: string } };
}
interface Report {
  adapter: {
    adapter: string;
    backend: string;
    software: boolean;
    limits: Record<string, number>;
    features: string[];
    shaderF16: boolean;
  };
  torch: { ok: boolean; why?: string };
  results: (
    | { model: string; part: 'forward'; patch: number[]; gflop: number; engines: Record<string, EngineRecord> }
    | TrainResult
  )[];
  report: string[];
}

function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (sum, e) => sum + (e.isDirectory() ? folderBytes(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).size),
    0,
  );
}

describe('GPU benchmark pack', () => {
  const dir = tempDir('mednext-gpu-pack-');
  const out = path.join(dir, 'gpu-bench');

  it('refuses a folder over the size limit, printing the size table and leaving nothing behind', async () => {
    const failed = await sh(process.execPath, [PACK, '--out', out, '--fast', '--max-mib', '20']).then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(failed).toMatch(/over the 20 MiB limit/);
    expect(failed).toMatch(/MiB {2}node\.gz/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('packs under 60 MiB and runs end to end from the packed folder on the software adapter', async () => {
    const packed = await sh(process.execPath, [PACK, '--out', out, '--fast']);
    expect(packed.stdout).toMatch(/total \(limit 60 MiB\)/);
    expect(folderBytes(out)).toBeLessThan(60 * 2 ** 20);
    for (const f of [
      'run.sh',
      'node.gz',
      'dawn.node.gz',
      'app/gpu-bench.mjs',
      'app/engine-webgpu-train.mjs',
      'app/engine-ours.mjs',
      'app/torch_mednext.py',
      'README.md',
    ]) {
      expect(existsSync(path.join(out, f)), f).toBe(true);
    }
    expect(readdirSync(path.join(out, 'vulkan')).filter((f) => f.endsWith('.deb'))).toHaveLength(7);

    const json = path.join(dir, 'result.json');
    const run = await sh(
      'bash',
      [
        path.join(out, 'run.sh'),
        ...['--patch', '16x16x32', '--configs', 'B', '--quick', '--runs', '1', '--json', json],
        ...['--engines', 'cpu,webgpu,tfjs-webgpu,torch-fp32'],
        ...['--parts', 'forward,train', '--train-patch', '16x16x32', '--train-width', '4', '--train-runs', '1'],
      ],
      { cwd: dir, env: { MEDNEXT_GPU_BENCH_TMP: dir } },
    );
    expect(run.stdout).toMatch(/^WebGPU adapter: .+ via (opengles|vulkan)/m);
    expect(run.stdout).toMatch(/^== MedNeXt-B k3 forward, 1x4x16x16x32/m);
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    expect(run.stdout).toContain(report.report.join('\n'));

    // The adapter as doctor reports it.
    expect(['opengles', 'vulkan']).toContain(report.adapter.backend);
    expect(report.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(report.adapter.limits.maxComputeWorkgroupStorageSize).toBeGreaterThan(0);
    expect(Array.isArray(report.adapter.features)).toBe(true);
    expect(typeof report.adapter.software).toBe('boolean');

    const [b, train] = report.results as [Report['results'][number] & { gflop: number }, TrainResult];
    expect(report.results).toHaveLength(2);
    expect(b).toMatchObject({ model: 'B', part: 'forward', patch: [16, 16, 32] });
    expect(b!.gflop).toBeGreaterThan(0);
    const { cpu, webgpu, 'tfjs-webgpu': tfjsWebgpu, 'torch-fp32': torch } = b!.engines;
    expect(cpu!.firstSeconds).toBeGreaterThan(0);

    // tfjs-backend-webgpu ran op by op on the same adapter: times and a finite difference from the CPU engine.
    expect(tfjsWebgpu!.error).toBeUndefined();
    expect(tfjsWebgpu!.firstSeconds).toBeGreaterThan(0);
    expect(tfjsWebgpu!.steadySeconds).toBeGreaterThan(0);
    expect(tfjsWebgpu!.gpuPeakBytes).toBeGreaterThan(0);
    expect(Number.isFinite(tfjsWebgpu!.vsCpu!.maxAbs)).toBe(true);
    expect(tfjsWebgpu!.vsCpu!.argmaxAgree).toBeGreaterThan(0.99);

    // The project's WebGPU engine: measured and within the fixtures' tolerance where this build has it.
    if (webgpu!.unavailable) expect(webgpu!.unavailable).toMatch(/no WebGPU engine/);
    else {
      expect(webgpu!.error).toBeUndefined();
      expect(webgpu!.firstSeconds).toBeGreaterThan(0);
      expect(webgpu!.vsCpu!.toleranceRatio).toBeLessThanOrEqual(1);
    }

    // PyTorch fp32 agrees with the CPU engine within the fixtures' tolerance, or is skipped with its reason.
    if (report.torch.ok) {
      expect(torch!.firstSeconds).toBeGreaterThan(0);
      expect(torch!.vsCpu!.toleranceRatio).toBeLessThanOrEqual(1);
    } else {
      expect(torch!.skipped).toMatch(/PyTorch: /);
      expect(run.stdout).toMatch(/^torch-fp32 +skipped: PyTorch: /m);
    }

    // The training step: a narrow MedNeXt-B, batch 2, deep supervision, batch Dice + focal, Schedule-Free AdamW.
    expect(run.stdout).toMatch(/^== MedNeXt-B \(n_channels 4\) k3 training step, 2x4x16x16x32, deep supervision/m);
    expect(train).toMatchObject({ model: 'B', part: 'train', patch: [16, 16, 32], batch: 2, width: 4 });
    expect(train.recipe).toEqual(expect.objectContaining({ epochs: 150, iterationsPerEpoch: 250 }));
    expect(train.footprint.parameters).toBeGreaterThan(0);
    const steps = train.engines;
    expect(steps['tfjs-webgpu']!.skipped).toMatch(/no training step/);
    // The tfjs CPU step ran 1 + 1 times; its losses are finite, the first at the seeded weights.
    const cpuStep = steps.cpu!;
    expect(cpuStep.error).toBeUndefined();
    expect(cpuStep.runs).toHaveLength(2);
    expect(cpuStep.losses).toHaveLength(2);
    for (const l of cpuStep.losses!) expect(Number.isFinite(l) && l > 0).toBe(true);
    // Schedule-Free AdamW moved the weights: the second step's loss (same batch) is lower than the first's.
    expect(cpuStep.losses![1]).toBeLessThan(cpuStep.losses![0]!);
    expect(cpuStep.steadySeconds).toBeGreaterThan(0);
    expect(cpuStep.hoursPerFold).toBeCloseTo((cpuStep.steadySeconds! * 250 * 150) / 3600, 6);
    // Every engine that ran agrees with the reference on the first-step loss (same weights, same batch).
    const reference = report.torch.ok ? 'torch-fp32' : 'cpu';
    expect(train.lossCheck[reference]).toMatchObject({ reference, relDiff: 0, agrees: true });
    expect(train.lossesAgree).toBe(true);
    for (const [engine, check] of Object.entries(train.lossCheck)) {
      expect(check.reference, engine).toBe(reference);
      expect(check.relDiff, engine).toBeLessThanOrEqual(check.rtol);
    }
    if (report.torch.ok) expect(train.lossCheck.cpu!.relDiff).toBeLessThanOrEqual(1e-4);
    else expect(steps['torch-fp32']!.skipped).toMatch(/PyTorch: /);
    // The WebGPU trainer: measured, its first loss within 1e-4 of the reference, idle time reported per step.
    const gpuStep = steps.webgpu!;
    expect(gpuStep.unavailable).toBeUndefined();
    expect(gpuStep.error).toBeUndefined();
    expect(gpuStep.losses).toHaveLength(2);
    expect(gpuStep.losses![1]).toBeLessThan(gpuStep.losses![0]!);
    expect(gpuStep.gpuPeakBytes).toBeGreaterThan(0);
    expect(gpuStep.gpuIdleMs).toHaveLength(2);
    expect(gpuStep.gpuIdleMs![0]).toBe(0); // nothing ran on the GPU before the first step
    expect(train.lossCheck.webgpu!.relDiff).toBeLessThanOrEqual(1e-4);
    // One more step called without awaiting the previous one (pipelined): it continues the same trajectory.
    expect(gpuStep.pipelined!.steps).toBe(1);
    expect(gpuStep.pipelined!.secondsPerStep).toBeGreaterThan(0);
    expect(gpuStep.pipelined!.losses[0]).toBeLessThan(gpuStep.losses![1]!);
    expect(run.stdout).toMatch(/^webgpu +(\S+ m?s +){3}\S+ GiB .* ok \(≤ 0\.0001\)$/m);
  }, 600_000); // the WebGPU steps take a quarter of a minute each on llvmpipe, under load more

  it("refuses up front a training patch whose tensors exceed the adapter's storage binding", async () => {
    const probe = await sh(process.execPath, [path.join(BENCH, 'probe-adapter.mjs'), 'auto']);
    const adapter = JSON.parse(probe.stdout.trim().split('\n').pop()!) as Report['adapter'] & { error?: string };
    expect(adapter.error).toBeUndefined();
    const binding = Math.min(adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize);
    // MedNeXt-B at the paper's patch needs one binding of 32x128x160x112 float32: 293,601,280 bytes. Software
    // adapters (llvmpipe: 128 MiB) cannot hold it; the benchmark must say so before running anything.
    const fits = binding >= 32 * 128 * 160 * 112 * 4;
    const json = path.join(dir, 'refused.json');
    const args = ['--parts', 'forward,train', '--engines', 'webgpu', '--configs', 'B', '--json', json];
    if (fits) return; // a GPU adapter: nothing to refuse (the plan's arithmetic is tested below)
    const failed = await sh(process.execPath, [path.join(BENCH, 'gpu-bench.mjs'), ...args]).then(
      () => 'ran',
      (error: Error) => error.message,
    );
    expect(failed).toMatch(
      /gpu-bench: the WebGPU training step of MedNeXt-B at 2x4x128x160x112 cannot run on .*: the input of enc_block_0\.0 \(32x128x160x112, float32\) is 293601280 bytes, above this adapter's largest storage binding/,
    );
    expect(failed).not.toMatch(/== MedNeXt-B k3 forward/);
    expect(existsSync(json)).toBe(false);
  });
});

interface Footprint {
  parameters: number;
  largestBinding: { bytes: number; what: string };
  keptPerSampleBytes: number;
  parameterStateBytes: number;
}
interface TrainPlan {
  trainingFootprint(config: unknown, spatial: number[], batch: number, activationBytes?: number): Footprint;
  trainingLimitProblem(f: Footprint, limits: Record<string, number>, gpuMemoryBytes?: number): string | undefined;
}

describe("GPU benchmark's training plan (what a WebGPU step must hold)", () => {
  it('counts the kept block inputs, the largest binding and the parameter state of MedNeXt-B at the paper patch', async () => {
    const plan = (await import(path.join(BENCH, 'train-plan.mjs'))) as TrainPlan;
    const { benchConfig } = (await import(path.join(BENCH, '../prepare.mjs'))) as {
      benchConfig(p: string, ds: boolean): unknown;
    };
    const f = plan.trainingFootprint(benchConfig('B', true), [128, 160, 112], 2);
    // MedNeXt-B (n_channels C = 32, two blocks per stage): per level j the encoder keeps 2 block inputs + the
    // down block's (3·C·2^j channels at V/8^j voxels), the decoder 2 block inputs, the up block its 2C·2^j-channel
    // input at V/8^(j+1), the bottleneck 2 inputs of 16C at V/4096: 6.98046875·C·V values in all.
    const V = 128 * 160 * 112;
    expect(f.keptPerSampleBytes).toBe(6.98046875 * 32 * V * 4);
    expect(f.largestBinding).toEqual({
      bytes: 32 * V * 4,
      what: 'the input of enc_block_0.0 (32x128x160x112, float32)',
    });
    expect(f.parameters).toBe(10_529_328); // MedNeXt-B k3 with the deep-supervision heads, 4 in, 3 out
    expect(f.parameterStateBytes).toBe(f.parameters * 16);
    // f16 storage halves the kept activations; the largest binding stays a float32 tensor.
    expect(plan.trainingFootprint(benchConfig('B', true), [128, 160, 112], 2, 2).keptPerSampleBytes).toBe(
      f.keptPerSampleBytes / 2,
    );

    // A 128 MiB binding (llvmpipe) is refused, an H100's 4 GiB one is not; too little GPU memory is refused.
    expect(plan.trainingLimitProblem(f, { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 31 })).toMatch(
      /is 293601280 bytes, above this adapter's largest storage binding \(134217728 bytes/,
    );
    const big = { maxStorageBufferBindingSize: 2 ** 32 - 4, maxBufferSize: 2 ** 32 };
    expect(plan.trainingLimitProblem(f, big, 80 * 2 ** 30)).toBeUndefined();
    expect(plan.trainingLimitProblem(f, big, 2e9)).toMatch(
      /a step holds at least 2217943808 bytes .* more than the GPU's 2000000000 bytes/,
    );
  });
});
