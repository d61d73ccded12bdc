/**
 * Shared setup of the inference commands: compute backend, threads, task lookup, progress output.
 */
import { selectBackend, type BackendChoice, type BackendPreference } from '@mednext-ts/tensor3d';
import type { Config } from '@oclif/core';
import type { TaskDefinition } from '@mednext-ts/mednext/tasks';
import cliProgress from 'cli-progress';
import { discoverTasksFromConfig } from '../tasks.js';

/** Backend names accepted by `--backend`. */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

/**
 * Activates the compute backend. On the CPU backends (cpu, wasm) the project's WebAssembly SIMD kernels
 * take over the heavy ops; `threads` sizes their worker pool (default: the logical cores, at most 4).
 * Other backends manage their own threads.
 */
export async function setupBackend(preference: BackendPreference, threads: number | undefined): Promise<BackendChoice> {
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new Error(`--threads must be a positive integer, got ${threads}`);
  }
  // On the CPU backends the project's WebAssembly SIMD kernels do the heavy work; --threads sizes their pool.
  return selectBackend(preference, { fastKernels: { threads } });
}

/** The task with this id from the installed plugins (the error lists the known ids). */
export async function findTask(config: Config, id: string): Promise<TaskDefinition> {
  const { registry, problems } = await discoverTasksFromConfig(config);
  // A second plugin defining this id is an error here, not a silent choice of one of them.
  const conflict = problems.find((p) => p.taskId === id);
  if (conflict) throw new Error(conflict.problem);
  if (registry.has(id)) return registry.get(id);
  const known =
    registry
      .list()
      .map((t) => t.task.id)
      .join(', ') || 'none';
  const extra = problems.length
    ? `; plugin problems: ${problems.map((p) => `${p.plugin}: ${p.problem}`).join('; ')}`
    : '';
  throw new Error(`unknown task '${id}' (installed tasks: ${known}${extra})`);
}

/** Progress display: bars on a terminal, plain lines otherwise (logs of cluster jobs). */
export class Progress {
  private readonly multibar?: cliProgress.MultiBar;
  private caseBar?: cliProgress.SingleBar;
  private windowBar?: cliProgress.SingleBar;

  constructor(
    private readonly enabled: boolean,
    private readonly log: (line: string) => void,
  ) {
    if (enabled && process.stderr.isTTY) {
      this.multibar = new cliProgress.MultiBar(
        {
          clearOnComplete: false,
          hideCursor: true,
          format: '{label} [{bar}] {value}/{total} ETA {eta_formatted} {detail}',
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  /** Starts the per-case bar. */
  cases(total: number): void {
    this.caseBar = this.multibar?.create(total, 0, { label: 'cases  ', detail: '' });
  }

  /** A case starts. */
  caseStart(index: number, total: number, id: string): void {
    if (this.multibar) this.caseBar?.update(index, { detail: id });
    else if (this.enabled) this.log(`[${index + 1}/${total}] ${id}`);
  }

  /** Window progress of one ensemble member. */
  windows(model: number, models: number, done: number, total: number): void {
    if (!this.multibar) return;
    if (!this.windowBar) this.windowBar = this.multibar.create(total, 0, { label: 'windows', detail: '' });
    this.windowBar.setTotal(total);
    this.windowBar.update(done, { detail: models > 1 ? `model ${model + 1}/${models}` : '' });
  }

  /** A case is done. */
  caseDone(index: number, detail: string): void {
    if (this.multibar) this.caseBar?.update(index + 1, { detail });
    else if (this.enabled) this.log(`  ${detail}`);
  }

  stop(): void {
    this.multibar?.stop();
  }
}
