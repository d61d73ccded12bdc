import os from 'node:os';
import { Command, Flags } from '@oclif/core';
import {
  BACKEND_HINTS,
  hasWasmRelaxedSimd,
  hasWasmSimd,
  hasWasmThreads,
  selectBackend,
  type BackendAttempt,
  type BackendName,
} from '@mednext-ts/tensor3d';
import { probeBackendIsolated, type BackendProbe } from '../lib/backend-probe.js';
import { describeEngines, formatEngines } from '../lib/engines-report.js';
import { discoverTasksFromConfig } from '../lib/tasks.js';
import { REPORTED_PACKAGES, installedVersion } from '../lib/versions.js';

const BACKENDS: BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];
/** Backends with native libraries that write to stderr themselves. */
const ISOLATED = new Set<BackendName>(['tensorflow', 'webgpu']);

/** Probes a pure-JavaScript/WebAssembly backend in this process (nothing native prints). */
async function probeBackendHere(backend: BackendName): Promise<BackendProbe> {
  try {
    return { backend, available: true, attempts: (await selectBackend(backend)).attempts, notes: [] };
  } catch (error) {
    return {
      backend,
      available: false,
      attempts: (error as { attempts?: BackendAttempt[] }).attempts ?? [],
      notes: [],
    };
  }
}

export default class Doctor extends Command {
  static override summary = 'Report versions, the machine and working backends.';

  static override description =
    'Report versions, the machine, which compute backends work and which one `auto` picks, and the installed task plugins.';

  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json'];

  static override flags = {
    json: Flags.boolean({ description: 'print one JSON object instead of text' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    // Native backends print their own warnings on stderr; they are probed in child processes and their messages
    // reported as notes of the backend instead of landing after the report.
    const probes = await Promise.all(
      BACKENDS.map((backend) => (ISOLATED.has(backend) ? probeBackendIsolated(backend) : probeBackendHere(backend))),
    );
    const backends = probes.map((p) => ({
      backend: p.backend,
      available: p.available,
      detail: p.available ? lastDetail(p.attempts) : p.attempts.map((a) => `${a.variant}: ${a.detail}`).join('; '),
      ...(p.available ? {} : { hint: BACKEND_HINTS[p.backend] }),
      notes: p.notes,
    }));
    const auto = await selectBackend('auto');
    const wasm = { simd: hasWasmSimd(), relaxedSimd: hasWasmRelaxedSimd(), threads: hasWasmThreads() };
    const engines = describeEngines({
      webgpuProbe: probes.find((p) => p.backend === 'webgpu'),
      auto,
      wasm,
      logicalCores: os.availableParallelism(),
    });
    const { registry, problems } = await discoverTasksFromConfig(this.config);
    const report = {
      versions: Object.fromEntries(REPORTED_PACKAGES.map((name) => [name, installedVersion(name)])),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: { logical: os.availableParallelism(), model: os.cpus()[0]?.model ?? 'unknown' },
      memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
      wasm,
      engines,
      backends,
      auto: { backend: auto.backend, reason: auto.reason, fastKernels: auto.fastKernels ?? null },
      plugins: this.config.getPluginsList().map((p) => ({ name: p.name, version: p.version, type: p.type })),
      tasks: registry
        .list()
        .map(({ task, source }) => ({ id: task.id, source, regions: task.regions.map((r) => r.name) })),
      pluginProblems: problems,
    };
    if (flags.json) {
      this.log(JSON.stringify(report, null, 2));
      return;
    }
    this.log('mednext doctor');
    this.log(
      `  node ${report.node} on ${report.platform}, ${report.cpus.logical} logical cores (${report.cpus.model}), ${report.memoryGiB} GiB`,
    );
    this.log(
      `  WebAssembly: SIMD ${yesNo(report.wasm.simd)}, relaxed SIMD ${yesNo(report.wasm.relaxedSimd)}, threads ${yesNo(report.wasm.threads)}`,
    );
    this.log('  versions:');
    for (const [name, version] of Object.entries(report.versions))
      this.log(`    ${name.padEnd(34)} ${version ?? '(not installed)'}`);
    this.log('  engines:');
    for (const line of formatEngines(engines)) this.log(line);
    this.log('  backends:');
    for (const b of backends) {
      this.log(`    ${b.backend.padEnd(11)} ${b.available ? 'yes' : 'no '}  ${b.detail}`);
      if (b.hint) this.log(`${' '.repeat(21)}hint: ${b.hint}`);
      for (const note of b.notes) this.log(`${' '.repeat(21)}note: ${note}`);
    }
    this.log(`  auto picks: ${report.auto.backend} (${report.auto.reason})`);
    this.log('  tasks:');
    for (const t of report.tasks) this.log(`    ${t.id.padEnd(8)} regions ${t.regions.join(', ')}  (from ${t.source})`);
    for (const p of problems) this.warn(`plugin ${p.plugin}: ${p.problem}`);
  }
}

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

function lastDetail(attempts: BackendAttempt[]): string {
  const last = attempts[attempts.length - 1];
  return last ? `${last.variant}: ${last.detail}` : '';
}
