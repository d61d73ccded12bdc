/**
 * Bounds on what the gradient tape keeps during a training step: the buffer bytes alive after the
 * forward pass and loss, inside the tape (the bench's method, meterBuffers). tfjs allocates exactly
 * the tensor sizes, so the numbers are deterministic for a given configuration and patch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@mednext-ts/tensor3d';
import { MedNeXt, meterBuffers, runBlock, type BlockSpec } from '../src/index.js';
import { LEAN_OPS } from '../src/network/engines/tfjs/block-ops.js';

beforeAll(async () => {
  await selectBackend('cpu');
});

/**
 * Buffer bytes alive (beyond those before) once `f`'s output exists inside a gradient tape, and the
 * most alive at any time of the whole step (forward and backward).
 */
function tapeBytes(f: () => tf.Tensor, xs: tf.Variable[]): { held: number; peak: number } {
  const meter = meterBuffers();
  try {
    let held = 0;
    const { value, grads } = tf.variableGrads(() => {
      const y = f();
      held = meter.current();
      return tf.sum(y) as tf.Scalar;
    }, xs);
    const peak = meter.peak();
    tf.dispose([value, ...Object.values(grads)]);
    return { held, peak };
  } finally {
    meter.stop();
  }
}

describe('tape memory of a training step', () => {
  it('a plain block keeps ≤ (2C + E) floats per voxel besides its output, < 1/4 of tfjs autodiff', () => {
    const b: BlockSpec = {
      name: 'blk',
      kind: 'block',
      cIn: 8,
      cOut: 8,
      expR: 4,
      kernel: 3,
      residual: true,
      grn: false,
    };
    const c = b.cIn;
    const e = c * b.expR;
    const shapes: Record<string, number[]> = {
      'blk.conv1.weight': [c, 1, 3, 3, 3],
      'blk.conv1.bias': [c],
      'blk.norm.weight': [c],
      'blk.norm.bias': [c],
      'blk.conv2.weight': [e, c, 1, 1, 1],
      'blk.conv2.bias': [e],
      'blk.conv3.weight': [c, e, 1, 1, 1],
      'blk.conv3.bias': [c],
    };
    const params = new Map(
      Object.entries(shapes).map(([n, s], i) => [n, tf.variable(tf.randomNormal(s, 0, 0.3, 'float32', i))]),
    );
    const p = (n: string): tf.Tensor => params.get(n)!;
    const voxels = 16 * 16 * 16;
    const x = tf.randomNormal([1, 16, 16, 16, c]) as tf.Tensor5D;
    const lean = tapeBytes(() => tf.tidy(() => runBlock(x, b, p, { ops: LEAN_OPS })), [...params.values()]).held;
    const autodiff = tapeBytes(() => tf.tidy(() => runBlock(x, b, p)), [...params.values()]).held;
    // Kept: conv1 output (C), norm output (C), conv2 output (E); plus the block output (C) itself.
    const bound = (2 * c + e + c) * voxels * 4;
    expect(lean, `lean ${lean} B vs autodiff ${autodiff} B`).toBeLessThanOrEqual(bound * 1.02);
    expect(lean).toBeLessThan(autodiff / 4);
    tf.dispose([x, ...params.values()]);
  });

  it('tiny MedNeXt with deep supervision: held/peak per voxel: lean ≤ 700/1750 B (< 0.25/0.27 of autodiff), checkpointed ≤ 180/1350 B', () => {
    const model = MedNeXt.create(
      { in_channels: 2, n_channels: 4, n_classes: 2, exp_r: 2, kernel_size: 3, deep_supervision: true },
      { seed: 5 },
    );
    type Mode = 'autodiff' | 'lean' | 'checkpoint';
    const perVoxel = (mode: Mode): { held: number; peak: number } => {
      const options = { training: true, leanGradients: mode !== 'autodiff', checkpointBlocks: mode === 'checkpoint' };
      const [a, b] = [16, 32].map((w) => {
        const x = tf.randomNormal([1, 16, 16, w, 2]) as tf.Tensor5D;
        const bytes = tapeBytes(
          () => tf.addN(model.forward(x, options).map((o) => tf.mean(tf.square(o)))),
          model.trainableVariables(),
        );
        x.dispose();
        return bytes;
      });
      return { held: (b.held - a.held) / 4096, peak: (b.peak - a.peak) / 4096 };
    };
    const autodiff = perVoxel('autodiff');
    const lean = perVoxel('lean');
    const ckpt = perVoxel('checkpoint');
    // Measured 2026-11-28, bytes per voxel of batch x patch, held after forward / step peak:
    // autodiff 2948 / 6400, lean 682 / 1687, checkpointed 171 / 1302.
    const show = `autodiff ${JSON.stringify(autodiff)}, lean ${JSON.stringify(lean)}, checkpointed ${JSON.stringify(ckpt)}`;
    expect(lean.held, show).toBeLessThanOrEqual(700);
    expect(lean.held, show).toBeLessThan(autodiff.held * 0.25);
    expect(lean.peak, show).toBeLessThanOrEqual(1750);
    expect(lean.peak, show).toBeLessThan(autodiff.peak * 0.27);
    expect(ckpt.held, show).toBeLessThanOrEqual(180);
    expect(ckpt.peak, show).toBeLessThanOrEqual(1350);
    model.dispose();
  });
});
