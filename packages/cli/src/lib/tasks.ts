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
import { TaskRegistry, tasksFromModule } from '@mednext-ts/mednext/tasks';

/** The part of an oclif plugin that discovery reads. */
export interface PluginLike {
  name: string;
  root: string;
  type: string;
  pjson: { mednext?: { tasks?: string } };
}

/** A plugin whose tasks could not be loaded, and why. */
export interface PluginLoadProblem {
  plugin: string;
  problem: string;
}

/** Loads the tasks of every plugin that declares some; problems are collected, not thrown. */
export async function discoverTasks(
  plugins: readonly PluginLike[],
): Promise<{ registry: TaskRegistry; problems: PluginLoadProblem[] }> {
  const registry = new TaskRegistry();
  const problems: PluginLoadProblem[] = [];
  for (const plugin of plugins) {
    const entry = plugin.pjson.mednext?.tasks;
    if (!entry) continue;
    try {
      const module = await import(pathToFileURL(path.resolve(plugin.root, entry)).href);
      registry.register(tasksFromModule(module, plugin.name), plugin.name);
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
