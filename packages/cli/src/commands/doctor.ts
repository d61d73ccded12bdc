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
import { discoverTasksFromConfig } from '../lib/tasks.js';
import { REPORTED_PACKAGES, installedVersion } from '../lib/versions.js';

const BACKENDS: BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

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
    const backends: { backend: BackendName; available: boolean; detail: string; hint?: string }[] = [];
    for (const backend of BACKENDS) {
      try {
        const choice = await selectBackend(backend);
        backends.push({ backend, available: true, detail: lastDetail(choice.attempts) });
      } catch (error) {
        const attempts = (error as { attempts?: BackendAttempt[] }).attempts ?? [];
        backends.push({
          backend,
          available: false,
          detail: attempts.map((a) => `${a.variant}: ${a.detail}`).join('; '),
          hint: BACKEND_HINTS[backend],
        });
      }
    }
    const auto = await selectBackend('auto');
    const { registry, problems } = await discoverTasksFromConfig(this.config);
    const report = {
      versions: Object.fromEntries(REPORTED_PACKAGES.map((name) => [name, installedVersion(name)])),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: { logical: os.availableParallelism(), model: os.cpus()[0]?.model ?? 'unknown' },
      memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
      wasm: { simd: hasWasmSimd(), relaxedSimd: hasWasmRelaxedSimd(), threads: hasWasmThreads() },
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
    this.log('  backends:');
    for (const b of backends)
      this.log(
        `    ${b.backend.padEnd(11)} ${b.available ? 'yes' : 'no '}  ${b.detail}${b.hint ? `\n${' '.repeat(21)}hint: ${b.hint}` : ''}`,
      );
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
