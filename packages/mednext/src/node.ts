/**
 * @mednext-ts/mednext/node: the parts that need Node (file system, worker threads): the
 * preprocessing cache, dataset discovery, checkpoint and weight files, file-based prediction and the
 * training runner. Each group is an explicit list of names; the folder indexes re-exported whole are
 * explicit lists too.
 */
// Checkpoint files on disk (atomic writes, errors naming the file).
export { readCheckpointBytes, readCheckpointFile, readResumeFile, writeCheckpointFile } from './checkpoint/node.js';
// Weight files on disk.
export { readWeightsFile, writeSafetensorsFile } from './weights/node.js';
// Folder indexes, each an explicit list (see each index.ts), re-exported whole.
export * from './data/node/index.js';
export * from './inference/node/index.js';
export * from './training/node/index.js';
