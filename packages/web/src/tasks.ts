/**
 * The tasks the web app knows: those of the bundled task plugins (the CLI discovers the same plugins).
 */
import { TaskRegistry, tasksFromModule, type TaskDefinition } from '@mednext-ts/mednext/tasks';
import * as ssa from '@mednext-ts/plugin-ssa';
import * as ped from '@mednext-ts/plugin-ped';

const registry = new TaskRegistry();
registry.register(tasksFromModule(ssa, '@mednext-ts/plugin-ssa'), '@mednext-ts/plugin-ssa');
registry.register(tasksFromModule(ped, '@mednext-ts/plugin-ped'), '@mednext-ts/plugin-ped');

/** The task with this id; the error lists the known ids. */
export function findTask(id: string): TaskDefinition {
  if (registry.has(id)) return registry.get(id);
  const known = registry
    .list()
    .map((t) => t.task.id)
    .join(', ');
  throw new Error(`unknown task '${id}' (tasks in this app: ${known})`);
}

/** Id and description of every task the app knows, in registration order (for the page's task selector). */
export function knownTasks(): { id: string; description: string }[] {
  return registry.list().map((t) => ({ id: t.task.id, description: t.task.description }));
}
