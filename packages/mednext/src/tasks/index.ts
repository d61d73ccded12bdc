/**
 * The task plugin API (`@mednext-ts/mednext/tasks`): light, with no tensor code and no tfjs in
 * its import graph, so plugins and the CLI load it quickly and a plugin author needs nothing else.
 */
export * from './task.js';
export * from './registry.js';
export * from './named-registry.js';
export * from './evaluation.js';
export * from './naming.js';
export * from './normalization.js';
export * from './postprocess-steps.js';
export * from './losses.js';
