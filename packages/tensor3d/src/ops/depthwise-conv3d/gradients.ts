/**
 * Gradients of the three depthwise 3-D conv kernels, written in terms of each other.
 *
 * All three kernels are bilinear sums over the same (output voxel o, tap t, input voxel i = o*s - p + t)
 * triples, so each one's partial derivatives are the other two (with the same strides and padding):
 *   y  = Conv(x, F)            dx = BackpropInput(dy, F)     dF = BackpropFilter(x, dy)
 *   x' = BackpropInput(y', F)  dy' = Conv(g, F)              dF = BackpropFilter(g, y')
 *   F' = BackpropFilter(x, y') dx = BackpropInput(y', g)     dy' = Conv(x, g)
 * Gradients therefore work to any order and on every backend that has the three kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import {
  DepthwiseConv3D,
  DepthwiseConv3DBackpropFilter,
  DepthwiseConv3DBackpropInput,
  type DepthwiseConv3DAttrs,
} from './kernel-names.js';

function run(kernel: string, inputs: Record<string, Tensor>, attrs: object): Tensor {
  return tf.engine().runKernel(kernel, inputs, attrs as NamedAttrMap) as Tensor;
}

function baseAttrs(attrs: NamedAttrMap): DepthwiseConv3DAttrs {
  const { strides, pad } = attrs as unknown as DepthwiseConv3DAttrs;
  return { strides, pad };
}

/** d/dx and d/dF of the forward conv. */
export const depthwiseConv3DGradConfig: GradConfig = {
  kernelName: DepthwiseConv3D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [Tensor, Tensor];
    const base = baseAttrs(attrs);
    return {
      x: () => run(DepthwiseConv3DBackpropInput, { dy: dy as Tensor, filter }, { ...base, inputShape: x.shape }),
      filter: () => run(DepthwiseConv3DBackpropFilter, { x, dy: dy as Tensor }, { ...base, filterShape: filter.shape }),
    };
  },
};

/** d/d(dy) and d/dF of the input gradient, i.e. the gradients of the transposed conv. */
export const depthwiseConv3DBackpropInputGradConfig: GradConfig = {
  kernelName: DepthwiseConv3DBackpropInput,
  inputsToSave: ['dy', 'filter'],
  gradFunc: (g, saved, attrs) => {
    const [dy, filter] = saved as [Tensor, Tensor];
    const base = baseAttrs(attrs);
    return {
      dy: () => run(DepthwiseConv3D, { x: g as Tensor, filter }, base),
      filter: () => run(DepthwiseConv3DBackpropFilter, { x: g as Tensor, dy }, { ...base, filterShape: filter.shape }),
    };
  },
};

/** d/dx and d/d(dy) of the filter gradient (second-order training, e.g. gradient penalties). */
export const depthwiseConv3DBackpropFilterGradConfig: GradConfig = {
  kernelName: DepthwiseConv3DBackpropFilter,
  inputsToSave: ['x', 'dy'],
  gradFunc: (g, saved, attrs) => {
    const [x, dy] = saved as [Tensor, Tensor];
    const base = baseAttrs(attrs);
    return {
      x: () => run(DepthwiseConv3DBackpropInput, { dy, filter: g as Tensor }, { ...base, inputShape: x.shape }),
      dy: () => run(DepthwiseConv3D, { x, filter: g as Tensor }, base),
    };
  },
};

/** All three gradient configs. */
export const depthwiseConv3dGradConfigs: GradConfig[] = [
  depthwiseConv3DGradConfig,
  depthwiseConv3DBackpropInputGradConfig,
  depthwiseConv3DBackpropFilterGradConfig,
];
