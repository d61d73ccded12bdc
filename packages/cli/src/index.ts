/** @mednext-ts/cli: the `mednext` command-line tool. Commands live in `./commands`. */
export { discoverTasks, discoverTasksFromConfig, type PluginLike, type PluginLoadProblem } from './lib/tasks.js';
