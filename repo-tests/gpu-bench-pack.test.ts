/**
 * The GPU benchmark pack (`npm run gpu-bench:pack`): packed into a temporary folder with `--fast` (gzip instead of
 * xz, seconds instead of minutes), then run from the packed folder — its own Node, its own Dawn, the Vulkan loader
 * from its .deb files — on this machine's software adapter (Dawn's OpenGL ES backend on Mesa llvmpipe) at a
 * 16x16x32 patch (PyTorch refuses GroupNorm over a single voxel, which a 16³ patch has at the bottleneck). The
 * JSON it writes must hold the adapter, positive times and finite output differences; PyTorch runs when
 * `python3` has torch and is otherwise skipped with the reason in the report.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, sh, tempDir } from './helpers.js';

const PACK = path.join(REPO_ROOT, 'packages/mednext/bench/gpu/pack.mjs');

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
  results: { model: string; part: string; patch: number[]; gflop: number; engines: Record<string, EngineRecord> }[];
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
    for (const f of ['run.sh', 'node.gz', 'dawn.node.gz', 'app/gpu-bench.mjs', 'app/torch_mednext.py', 'README.md']) {
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

    const [b] = report.results;
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
  });
});
