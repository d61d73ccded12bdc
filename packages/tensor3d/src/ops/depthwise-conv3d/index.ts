export { depthwiseConv3d, depthwiseConvTranspose3d } from './op.js';
export type { DepthwiseConv3dOptions, DepthwiseConvTranspose3dOptions } from './op.js';
export * from './kernel-names.js';
export { registerDepthwiseConv3dKernels, replaceKernel, READBACK_BACKENDS } from './register.js';
export {
  depthwiseConv3dReference,
  depthwiseConv3dBackpropInputReference,
  depthwiseConv3dBackpropFilterReference,
  type Shape4,
  type Shape5,
} from './reference.js';
export { convOutLength, convTransposeOutLength } from './geometry.js';
