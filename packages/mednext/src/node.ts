/**
 * @mednext-ts/mednext/node: the parts that need Node (file system, worker threads): the
 * preprocessing cache, dataset discovery and the file-based training runner.
 */
export * from './checkpoint/node.js';
export * from './data/node/index.js';
export * from './inference/node/index.js';
export * from './training/node/index.js';
export * from './weights/node.js';
