/**
 * Discovery of tasks from oclif plugins.
 *
 * A task plugin is an oclif plugin whose package.json has `"mednext": {"tasks": "./dist/index.js"}`;
 * that module exports `tasks`, an array of task definitions. Bundled, installed and linked
 * plugins are all found the same way.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '@oclif/core';
import { TaskRegistry, defineTask, parseTaskOverrides, tasksFromModule } from '@mednext-ts/mednext/tasks';

/** The part of an oclif plugin that discovery reads. */
export interface PluginLike {
  name: string;
  root: string;
  type: string;
  pjson: { mednext?: { tasks?: string } };
}

/** A plugin whose tasks (or one task of it) could not be loaded, and why. */
export interface PluginLoadProblem {
  plugin: string;
  problem: string;
  /** The task concerned, when the problem is one task's (an id another plugin already registered). */
  taskId?: string;
}

/**
 * Loads the tasks of every plugin that declares some; problems are collected, not thrown. Core
 * (bundled) plugins register first, so a user plugin reusing one of their ids is the one
 * reported, unless `overrides` (from `MEDNEXT_TASK_OVERRIDE`) lets it replace that task.
 */
export async function discoverTasks(
  plugins: readonly PluginLike[],
  overrides: Record<string, string[]> = parseTaskOverrides(process.env.MEDNEXT_TASK_OVERRIDE),
): Promise<{ registry: TaskRegistry; problems: PluginLoadProblem[] }> {
  const registry = new TaskRegistry();
  const problems: PluginLoadProblem[] = [];
  const ordered = [...plugins].sort((a, b) => Number(b.type === 'core') - Number(a.type === 'core'));
  for (const plugin of ordered) {
    const entry = plugin.pjson.mednext?.tasks;
    if (!entry) continue;
    try {
      const module = await import(pathToFileURL(path.resolve(plugin.root, entry)).href);
      const tasks = tasksFromModule(module, plugin.name);
      for (const task of tasks) defineTask(task);
      for (const task of tasks) {
        try {
          registry.register([task], plugin.name, { override: overrides[plugin.name] ?? [] });
        } catch (error) {
          problems.push({ plugin: plugin.name, problem: (error as Error).message, taskId: task.id });
        }
      }
    } catch (error) {
      problems.push({ plugin: plugin.name, problem: (error as Error).message.split('\n')[0] ?? String(error) });
    }
  }
  return { registry, problems };
}

/** Tasks of the plugins oclif loaded for this run of the CLI. */
export function discoverTasksFromConfig(config: Config) {
  return discoverTasks(config.getPluginsList() as unknown as PluginLike[]);
}
