/**
 * Shape arithmetic and argument checking shared by the ops, the reference kernels and the backends.
 */
import { Tensor3dError } from '../../errors.js';
import type { Triple } from './kernel-names.js';

/** Expands a scalar to the three spatial axes and checks every entry. */
export function toTriple(value: number | readonly number[], name: string, op: string, min: number): Triple {
  const triple = typeof value === 'number' ? [value, value, value] : [...value];
  if (triple.length !== 3 || triple.some((v) => !Number.isInteger(v) || v < min)) {
    throw new Tensor3dError(
      'BAD_ARGUMENT',
      `${op}: '${name}' must be an integer >= ${min} or three of them [d, h, w]; got ${JSON.stringify(value)}`,
    );
  }
  return triple as Triple;
}

/** Output length of a strided conv along one axis: `floor((n + 2p - k) / s) + 1`. */
export function convOutLength(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

/** Output length of a transposed conv along one axis: `(n - 1) * s - 2p + k + outputPadding` (PyTorch). */
export function convTransposeOutLength(
  n: number,
  k: number,
  stride: number,
  pad: number,
  outputPadding: number,
): number {
  return (n - 1) * stride - 2 * pad + k + outputPadding;
}

/** Spatial output shape `[oD, oH, oW]` of the forward conv, or an error naming the first axis that collapses. */
export function convOutSpatial(
  inSpatial: readonly number[],
  kernel: readonly number[],
  strides: Triple,
  pad: Triple,
  op: string,
): Triple {
  const out = [0, 1, 2].map((a) => convOutLength(inSpatial[a]!, kernel[a]!, strides[a]!, pad[a]!)) as Triple;
  const bad = out.findIndex((v) => v < 1);
  if (bad >= 0) {
    throw new Tensor3dError(
      'BAD_ARGUMENT',
      `${op}: axis ${'DHW'[bad]} is empty after the convolution (input ${inSpatial[bad]}, kernel ${kernel[bad]}, ` +
        `stride ${strides[bad]}, padding ${pad[bad]})`,
    );
  }
  return out;
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
