/**
 * @mednext-ts/tensor3d: 3-D volumes, volume operations, and the compute layer
 * (tfjs backend selection and the project's own kernels).
 */
export * from './compute/index.js';
export * from './volume/index.js';
export * from './ops/index.js';
