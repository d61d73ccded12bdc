import { defineTask, type TaskDefinition } from './task.js';
import { MedNeXtError } from '../errors.js';

/** A registered task and where it came from. */
export interface RegisteredTask {
  task: TaskDefinition;
  /** Package (or folder) that registered it. */
  source: string;
}

/** Options of {@link TaskRegistry.register}. */
export interface TaskRegisterOptions {
  /**
   * Task ids this source may take over from an earlier registration (the user asked for it,
   * e.g. with `MEDNEXT_TASK_OVERRIDE=ssa=my-plugin`). Without it a taken id is an error.
   */
  override?: readonly string[];
}

/** The set of tasks known to a running mednext, filled from plugins. */
export class TaskRegistry {
  private readonly tasks = new Map<string, RegisteredTask>();

  /**
   * Registers tasks. Every task is checked with {@link defineTask} first, so nothing of a
   * faulty batch is registered. A task with an id already taken is an error naming both
   * sources, unless the id is in `options.override` (then this source's task replaces it).
   */
  register(tasks: readonly TaskDefinition[], source: string, options: TaskRegisterOptions = {}): void {
    for (const task of tasks) defineTask(task);
    for (const task of tasks) {
      const existing = this.tasks.get(task.id);
      if (existing && !options.override?.includes(task.id))
        throw new MedNeXtError(
          'TASK_DUPLICATE',
          `task '${task.id}' from ${source} is already registered by ${existing.source}; ` +
            `remove one of the plugins, or let ${source} replace it with MEDNEXT_TASK_OVERRIDE=${task.id}=${source}`,
        );
    }
    for (const task of tasks) this.tasks.set(task.id, { task, source });
  }

  /** The task with this id; the error lists the ids that exist. */
  get(id: string): TaskDefinition {
    const found = this.tasks.get(id);
    if (!found) {
      const known = [...this.tasks.keys()].sort().join(', ') || 'none';
      throw new MedNeXtError('TASK_UNKNOWN', `unknown task '${id}' (registered tasks: ${known})`);
    }
    return found.task;
  }

  /** Where the task with this id came from, or undefined. */
  sourceOf(id: string): string | undefined {
    return this.tasks.get(id)?.source;
  }

  has(id: string): boolean {
    return this.tasks.has(id);
  }

  /** All tasks, sorted by id. */
  list(): RegisteredTask[] {
    return [...this.tasks.values()].sort((a, b) => a.task.id.localeCompare(b.task.id));
  }
}

/** Reads the `tasks` export of a plugin module (an array of task definitions). */
export function tasksFromModule(module: unknown, source: string): TaskDefinition[] {
  const tasks = (module as { tasks?: unknown }).tasks;
  if (!Array.isArray(tasks))
    throw new MedNeXtError('TASK_PLUGIN_INVALID', `${source} does not export an array named 'tasks'`);
  return tasks as TaskDefinition[];
}

/**
 * Parses `MEDNEXT_TASK_OVERRIDE`: comma-separated `taskId=package` pairs, each letting that
 * package's task replace an already registered task of the same id.
 *
 * @example `MEDNEXT_TASK_OVERRIDE=ssa=mednext-plugin-my-ssa` -> `{ 'mednext-plugin-my-ssa': ['ssa'] }`
 */
export function parseTaskOverrides(value: string | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!value) return out;
  for (const item of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1)
      throw new MedNeXtError(
        'TASK_PLUGIN_INVALID',
        `MEDNEXT_TASK_OVERRIDE: expected taskId=package pairs separated by commas, got '${item}'`,
      );
    (out[item.slice(eq + 1)] ??= []).push(item.slice(0, eq));
  }
  return out;
}
