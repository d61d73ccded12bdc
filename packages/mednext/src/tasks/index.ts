/**
 * The task plugin API (`@mednext-ts/mednext/tasks`): light, with no tensor code, so plugins
 * and the CLI can load it quickly.
 */
export * from './task.js';
export * from './registry.js';
