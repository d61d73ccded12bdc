/**
 * The project's depthwise 3-D conv ops on a tfjs backend in the page: forward, both gradients (through
 * `tf.grads`, i.e. the registered gradient kernels) and the transposed op, against the float64 JS references.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  depthwiseConv3d,
  depthwiseConv3dBackpropFilterReference,
  depthwiseConv3dBackpropInputReference,
  depthwiseConv3dReference,
  depthwiseConvTranspose3d,
  convOutLength,
  type Shape4,
  type Shape5,
} from '@mednext-ts/tensor3d';
import { useBackend, webGpuAdapterInfo } from './backends.js';
import { maxAbsDiff, uniformArray } from './random.js';
import type { DepthwiseResult } from './protocol.js';

type Triple = [number, number, number];
type Mutable5 = [number, number, number, number, number];
type Mutable4 = [number, number, number, number];

interface Case {
  label: string;
  x: Shape5;
  k: Triple;
  stride: Triple;
  pad: Triple;
}

/** Tiny, odd, non-cubic shapes: a MedNeXt block conv (k3 s1 p1) and a down-sampling one (k3 s2 p1). */
const CASES: Case[] = [
  { label: 'k3 s1 p1', x: [1, 5, 4, 6, 3], k: [3, 3, 3], stride: [1, 1, 1], pad: [1, 1, 1] },
  { label: 'k3 s2 p1, mixed', x: [2, 7, 5, 6, 4], k: [3, 3, 3], stride: [2, 1, 2], pad: [1, 1, 0] },
];

async function runCase(c: Case, seed: number): Promise<DepthwiseResult['cases'][number]> {
  const filterShape: Shape4 = [c.k[0], c.k[1], c.k[2], c.x[4]];
  const outShape: Shape5 = [
    c.x[0],
    convOutLength(c.x[1], c.k[0], c.stride[0], c.pad[0]),
    convOutLength(c.x[2], c.k[1], c.stride[1], c.pad[1]),
    convOutLength(c.x[3], c.k[2], c.stride[2], c.pad[2]),
    c.x[4],
  ];
  const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
  const xData = uniformArray(size(c.x), seed);
  const fData = uniformArray(size(filterShape), seed + 1);
  const dyData = uniformArray(size(outShape), seed + 2);

  const x = tf.tensor5d(xData, [...c.x] as Mutable5);
  const f = tf.tensor4d(fData, [...filterShape] as Mutable4);
  const dy = tf.tensor5d(dyData, [...outShape] as Mutable5);
  const options = { strides: c.stride, padding: c.pad };
  try {
    const y = depthwiseConv3d(x, f, options);
    // Gradients of sum(y * dy) are exactly (dx, df) for the upstream gradient dy.
    const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(depthwiseConv3d(a as tf.Tensor5D, b as tf.Tensor4D, options), dy)),
    )([x, f]);
    // The transposed op with dy as input is the adjoint: its reference is the input-gradient reference.
    const t = depthwiseConvTranspose3d(dy, f, {
      ...options,
      outputPadding: [0, 1, 2].map((a) => {
        const reach = (outShape[a + 1]! - 1) * c.stride[a]! - 2 * c.pad[a]! + c.k[a]!;
        return c.x[a + 1]! - reach;
      }) as Triple,
    });
    const [yv, dxv, dfv, tv] = await Promise.all([y.data(), dx!.data(), df!.data(), t.data()]);
    tf.dispose([y, dx!, df!, t]);
    const dxRef = depthwiseConv3dBackpropInputReference(dyData, outShape, fData, filterShape, c.x, c.stride, c.pad);
    return {
      label: c.label,
      y: maxAbsDiff(yv, depthwiseConv3dReference(xData, c.x, fData, filterShape, outShape, c.stride, c.pad)),
      dx: maxAbsDiff(dxv, dxRef),
      df: maxAbsDiff(
        dfv,
        depthwiseConv3dBackpropFilterReference(xData, c.x, dyData, outShape, filterShape, c.stride, c.pad),
      ),
      transposed: maxAbsDiff(tv, dxRef),
    };
  } finally {
    tf.dispose([x, f, dy]);
  }
}

/** Selects `backend` with `selectBackend` and runs every case on it. */
export async function depthwiseCheck(backend: 'wasm' | 'webgpu' | 'cpu'): Promise<DepthwiseResult> {
  const choice = await useBackend(backend);
  const cases = [];
  for (let i = 0; i < CASES.length; i++) cases.push(await runCase(CASES[i]!, 1000 + 10 * i));
  return {
    backend: choice.backend,
    tfjsBackend: tf.getBackend(),
    reason: choice.reason,
    adapter: backend === 'webgpu' ? await webGpuAdapterInfo() : undefined,
    cases,
  };
}
