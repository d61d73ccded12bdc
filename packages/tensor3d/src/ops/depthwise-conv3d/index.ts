/** The depthwise 3-D convolution op: the op, its kernel names and attributes, kernels per backend, references. */
export { depthwiseConv3d, depthwiseConvTranspose3d } from './op.js';
export type { DepthwiseConv3dOptions, DepthwiseConvTranspose3dOptions } from './op.js';
export {
  DepthwiseConv3D,
  DepthwiseConv3DBackpropInput,
  DepthwiseConv3DBackpropFilter,
  DEPTHWISE_CONV3D_KERNEL_NAMES,
  type DepthwiseConv3DAttrs,
  type DepthwiseConv3DBackpropInputAttrs,
  type DepthwiseConv3DBackpropFilterAttrs,
  type Triple,
} from './kernel-names.js';
export { registerDepthwiseConv3dKernels, replaceKernel, READBACK_BACKENDS } from './register.js';
export {
  depthwiseConv3dReference,
  depthwiseConv3dBackpropInputReference,
  depthwiseConv3dBackpropFilterReference,
  type Shape4,
  type Shape5,
} from './reference.js';
export { convOutLength, convTransposeOutLength } from './geometry.js';
