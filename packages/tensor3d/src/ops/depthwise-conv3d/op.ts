/**
 * The public depthwise 3-D convolution ops (PyTorch `Conv3d` / `ConvTranspose3d` with `groups = C`,
 * no bias, no dilation), channels-last like `tf.conv3d`.
 */
import { Tensor3dError } from '../../errors.js';
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap, Tensor, Tensor4D, Tensor5D } from '@tensorflow/tfjs-core';
import {
  DepthwiseConv3D,
  DepthwiseConv3DBackpropInput,
  type DepthwiseConv3DAttrs,
  type DepthwiseConv3DBackpropInputAttrs,
} from './kernel-names.js';
import { convOutSpatial, convTransposeOutLength, toTriple } from './geometry.js';
import { registerDepthwiseConv3dKernels } from './register.js';

registerDepthwiseConv3dKernels();

/** Options of {@link depthwiseConv3d}. A number applies to all three axes; a triple is `[d, h, w]`. */
export interface DepthwiseConv3dOptions {
  /** Stride per axis (default 1). */
  strides?: number | [number, number, number];
  /** Zero padding on EACH side of each axis, as PyTorch's `padding` (default 0). */
  padding?: number | [number, number, number];
}

/** Options of {@link depthwiseConvTranspose3d}. */
export interface DepthwiseConvTranspose3dOptions extends DepthwiseConv3dOptions {
  /** Extra length added at the END of each axis, as PyTorch's `output_padding`; must be < stride (default 0). */
  outputPadding?: number | [number, number, number];
}

function checkOperands(x: Tensor, filter: Tensor, op: string): void {
  if (x.rank !== 5)
    throw new Tensor3dError('BAD_SHAPE', `${op}: x must be 5-D [N, D, H, W, C]; got shape [${x.shape}]`);
  if (filter.rank !== 4)
    throw new Tensor3dError('BAD_SHAPE', `${op}: filter must be 4-D [kd, kh, kw, C]; got shape [${filter.shape}]`);
  if (filter.shape[3] !== x.shape[4]) {
    throw new Tensor3dError(
      'BAD_SHAPE',
      `${op}: filter has ${filter.shape[3]} channels but x has ${x.shape[4]} (shapes [${filter.shape}] and [${x.shape}])`,
    );
  }
  for (const [name, t] of [
    ['x', x],
    ['filter', filter],
  ] as const) {
    if (t.dtype !== 'float32')
      throw new Tensor3dError('BAD_ARGUMENT', `${op}: ${name} must be float32; got ${t.dtype}`);
  }
}

/**
 * Depthwise 3-D convolution: every channel is convolved with its own `kd x kh x kw` kernel.
 *
 * Equals PyTorch `Conv3d(C, C, k, stride, padding, groups=C, bias=False)` applied to the NCDHW transpose,
 * with the PyTorch weight `[C, 1, kd, kh, kw]` transposed to `[kd, kh, kw, C]`. Output length per axis:
 * `floor((n + 2 * padding - k) / stride) + 1`. Differentiable in `x` and `filter` (any order).
 *
 * @param x input `[N, D, H, W, C]`, float32
 * @param filter `[kd, kh, kw, C]`, float32
 * @returns `[N, oD, oH, oW, C]`
 */
export function depthwiseConv3d(x: Tensor5D, filter: Tensor4D, options: DepthwiseConv3dOptions = {}): Tensor5D {
  const op = 'depthwiseConv3d';
  checkOperands(x, filter, op);
  const attrs: DepthwiseConv3DAttrs = {
    strides: toTriple(options.strides ?? 1, 'strides', op, 1),
    pad: toTriple(options.padding ?? 0, 'padding', op, 0),
  };
  convOutSpatial(x.shape.slice(1, 4), filter.shape, attrs.strides, attrs.pad, op);
  return tf.engine().runKernel(DepthwiseConv3D, { x, filter }, attrs as unknown as NamedAttrMap) as Tensor5D;
}

/**
 * Depthwise transposed 3-D convolution (the adjoint of {@link depthwiseConv3d}): input voxel `i` and tap
 * `t` add `x[i] * filter[t]` to output voxel `i * stride - padding + t` (no kernel flip), contributions
 * outside the output are dropped.
 *
 * Equals PyTorch `ConvTranspose3d(C, C, k, stride, padding, output_padding, groups=C, bias=False)`; its
 * weight `[C, 1, kd, kh, kw]` becomes `[kd, kh, kw, C]`. Output length per axis:
 * `(n - 1) * stride - 2 * padding + k + outputPadding`. Differentiable in `x` and `filter` (any order).
 *
 * @param x input `[N, D, H, W, C]`, float32
 * @param filter `[kd, kh, kw, C]`, float32
 * @returns `[N, oD, oH, oW, C]`
 */
export function depthwiseConvTranspose3d(
  x: Tensor5D,
  filter: Tensor4D,
  options: DepthwiseConvTranspose3dOptions = {},
): Tensor5D {
  const op = 'depthwiseConvTranspose3d';
  checkOperands(x, filter, op);
  const strides = toTriple(options.strides ?? 1, 'strides', op, 1);
  const pad = toTriple(options.padding ?? 0, 'padding', op, 0);
  const outputPadding = toTriple(options.outputPadding ?? 0, 'outputPadding', op, 0);
  const spatial = [0, 1, 2].map((a) => {
    if (outputPadding[a]! >= strides[a]!) {
      throw new Tensor3dError(
        'BAD_ARGUMENT',
        `${op}: outputPadding (${outputPadding}) must be smaller than strides (${strides}) on every axis`,
      );
    }
    const len = convTransposeOutLength(x.shape[a + 1]!, filter.shape[a]!, strides[a]!, pad[a]!, outputPadding[a]!);
    if (len < 1)
      throw new Tensor3dError(
        'BAD_SHAPE',
        `${op}: axis ${'DHW'[a]} would have length ${len} (input [${x.shape}], padding ${pad})`,
      );
    return len;
  });
  const attrs: DepthwiseConv3DBackpropInputAttrs = {
    strides,
    pad,
    inputShape: [x.shape[0], spatial[0]!, spatial[1]!, spatial[2]!, x.shape[4]],
  };
  // The transposed conv IS the forward conv's input gradient, with x in the role of dy.
  return tf
    .engine()
    .runKernel(DepthwiseConv3DBackpropInput, { dy: x, filter }, attrs as unknown as NamedAttrMap) as Tensor5D;
}
