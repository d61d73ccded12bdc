import { defineTask, type TaskDefinition } from './task.js';

/** A registered task and where it came from. */
export interface RegisteredTask {
  task: TaskDefinition;
  /** Package (or folder) that registered it. */
  source: string;
}

/** The set of tasks known to a running mednext, filled from plugins. */
export class TaskRegistry {
  private readonly tasks = new Map<string, RegisteredTask>();

  /** Registers tasks; a second task with an id already taken is an error naming both sources. */
  register(tasks: readonly TaskDefinition[], source: string): void {
    for (const task of tasks) {
      defineTask(task);
      const existing = this.tasks.get(task.id);
      if (existing) throw new Error(`task '${task.id}' from ${source} is already registered by ${existing.source}`);
      this.tasks.set(task.id, { task, source });
    }
  }

  /** The task with this id; the error lists the ids that exist. */
  get(id: string): TaskDefinition {
    const found = this.tasks.get(id);
    if (!found) {
      const known = [...this.tasks.keys()].sort().join(', ') || 'none';
      throw new Error(`unknown task '${id}' (registered tasks: ${known})`);
    }
    return found.task;
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
  if (!Array.isArray(tasks)) throw new Error(`${source} does not export an array named 'tasks'`);
  return tasks as TaskDefinition[];
}
