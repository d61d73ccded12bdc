/**
 * Names and attribute contracts of the depthwise 3-D convolution kernels.
 *
 * These are the public contract between the ops (`op.ts`), the gradients (`gradients.ts`) and every
 * backend implementation. A faster implementation (e.g. WebAssembly SIMD) replaces a kernel by
 * registering a `tf.KernelConfig` under the same name and backend that honours the same inputs,
 * attributes and output shape.
 *
 * Layouts: activations are channels-last NDHWC `[N, D, H, W, C]`; the filter is `[kd, kh, kw, C]`
 * (one k³ cube per channel, no channel multiplier).
 */

/** Forward depthwise conv. Inputs `{x, filter}`; attrs {@link DepthwiseConv3DAttrs}; output `[N, oD, oH, oW, C]`. */
export const DepthwiseConv3D = 'DepthwiseConv3D';
/**
 * Gradient of the forward conv with respect to its input, which is also the transposed conv.
 * Inputs `{dy, filter}`; attrs {@link DepthwiseConv3DBackpropInputAttrs}; output of shape `inputShape`.
 */
export const DepthwiseConv3DBackpropInput = 'DepthwiseConv3DBackpropInput';
/**
 * Gradient of the forward conv with respect to its filter.
 * Inputs `{x, dy}`; attrs {@link DepthwiseConv3DBackpropFilterAttrs}; output of shape `filterShape`.
 */
export const DepthwiseConv3DBackpropFilter = 'DepthwiseConv3DBackpropFilter';

/** The three kernel names, e.g. for registering or unregistering all of them. */
export const DEPTHWISE_CONV3D_KERNEL_NAMES = [
  DepthwiseConv3D,
  DepthwiseConv3DBackpropInput,
  DepthwiseConv3DBackpropFilter,
] as const;

/** One integer per spatial axis, in the order D, H, W. */
export type Triple = [number, number, number];

/**
 * Attributes of {@link DepthwiseConv3D}. Output voxel `o` on an axis reads input voxels
 * `o * stride - pad + t` for taps `t = 0..k-1`; reads outside the input are zero (symmetric zero padding
 * of `pad` voxels on each side, as PyTorch's `Conv3d(padding=pad)`).
 */
export interface DepthwiseConv3DAttrs {
  strides: Triple;
  pad: Triple;
}

/** Attributes of {@link DepthwiseConv3DBackpropInput}: the forward attributes plus the forward input shape. */
export interface DepthwiseConv3DBackpropInputAttrs extends DepthwiseConv3DAttrs {
  /** `[N, D, H, W, C]` of the forward input, i.e. of this kernel's output. */
  inputShape: [number, number, number, number, number];
}

/** Attributes of {@link DepthwiseConv3DBackpropFilter}: the forward attributes plus the filter shape. */
export interface DepthwiseConv3DBackpropFilterAttrs extends DepthwiseConv3DAttrs {
  /** `[kd, kh, kw, C]`. */
  filterShape: [number, number, number, number];
}
