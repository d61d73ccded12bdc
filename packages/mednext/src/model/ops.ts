/**
 * The depthwise 3-D convolutions the network needs (tfjs lacks them), from @mednext-ts/tensor3d.
 * Importing them registers their kernels for every backend.
 */
export { depthwiseConv3d, depthwiseConvTranspose3d } from '@mednext-ts/tensor3d';
