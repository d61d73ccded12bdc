/**
 * The memory-lean custom gradients (lean-grad.ts, train-block.ts) against tfjs's own autodiff of the
 * same forward formulas, on small random inputs, on the cpu and wasm backends.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend, type BackendName } from '@mednext-ts/tensor3d';
import {
  MedNeXt,
  NORM_EPS,
  add5Lean,
  addBiasLean,
  addLean,
  checkpointed,
  gelu,
  geluLean,
  geluLinearLean,
  linearLean,
  normAffineLean,
  padFront,
  padFrontLean,
  reshapeLean,
  spread2,
  spread2Lean,
  subsample2,
  subsample2Lean,
  runBlock,
  runBlockTrain,
  type BlockSpec,
  type ParamGetter,
} from '../src/index.js';
import { closeness } from './helpers.js';

/** Float32 values and gradients of the same function by two routes: |a − b| ≤ 1e-5 + 1e-4·|b|. */
const ATOL = 1e-5;
const RTOL = 1e-4;

/** Value and the gradients of sum(f(xs)·dy) w.r.t. every input (dy random, so every output element counts). */
function vjp(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed: number): Float32Array[] {
  return tf.tidy(() => {
    const y = f(...xs);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', seed);
    const grads = tf.grads(f)(xs, dy);
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

function expectSame(lean: Float32Array[], reference: Float32Array[], what: string): void {
  expect(lean.length).toBe(reference.length);
  lean.forEach((a, i) => {
    const { ratio, maxAbs } = closeness(a, reference[i], ATOL, RTOL);
    expect(ratio, `${what} ${i === 0 ? 'value' : `gradient ${i - 1}`}: max |diff| ${maxAbs}`).toBeLessThanOrEqual(1);
  });
}

const rand = (shape: number[], seed: number, scale = 1): tf.Tensor =>
  tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);

/** Autodiff reference of the per-channel GroupNorm with affine (the formula of layers.ts channelNorm). */
function normReference(t: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(t, 1, true);
  return tf.add(tf.mul(tf.sub(t, mean), tf.mul(tf.rsqrt(tf.add(variance, NORM_EPS)), gamma)), beta);
}

function linearReference(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D, false, true), b);
}

/** A parameter getter over random block parameters with the official names and shapes. */
function blockParams(b: BlockSpec, seed: number): Map<string, tf.Tensor> {
  const e = b.cIn * b.expR;
  const k = b.kernel;
  const shapes: Record<string, number[]> = {
    'conv1.weight': [b.cIn, 1, k, k, k],
    'conv1.bias': [b.cIn],
    'norm.weight': [b.cIn],
    'norm.bias': [b.cIn],
    'conv2.weight': [e, b.cIn, 1, 1, 1],
    'conv2.bias': [e],
    'conv3.weight': [b.cOut, e, 1, 1, 1],
    'conv3.bias': [b.cOut],
  };
  if (b.grn) {
    shapes.grn_gamma = [1, e, 1, 1, 1];
    shapes.grn_beta = [1, e, 1, 1, 1];
  }
  if (b.kind === 'down') {
    shapes['res_conv.weight'] = [b.cOut, b.cIn, 1, 1, 1];
    shapes['res_conv.bias'] = [b.cOut];
  }
  if (b.kind === 'up') {
    shapes['res_conv.weight'] = [b.cIn, b.cOut, 1, 1, 1];
    shapes['res_conv.bias'] = [b.cOut];
  }
  const out = new Map<string, tf.Tensor>();
  Object.entries(shapes).forEach(([name, shape], i) => {
    // Norm weights around 1 as after initialisation, everything else small and random.
    const base = rand(shape, seed + i, 0.4);
    out.set(`${b.name}.${name}`, name === 'norm.weight' ? tf.add(base, 1) : base);
  });
  return out;
}

const BLOCKS: BlockSpec[] = [
  { name: 'enc_block_0.0', kind: 'block', cIn: 3, cOut: 3, expR: 2, kernel: 3, residual: true, grn: false },
  { name: 'enc_block_1.0', kind: 'block', cIn: 4, cOut: 4, expR: 3, kernel: 3, residual: true, grn: true },
  { name: 'down_1', kind: 'down', cIn: 3, cOut: 6, expR: 2, kernel: 3, residual: true, grn: false },
  { name: 'up_1', kind: 'up', cIn: 6, cOut: 3, expR: 2, kernel: 3, residual: true, grn: false },
];

const backends: BackendName[] = ['cpu', 'wasm'];

afterAll(async () => {
  await selectBackend('cpu');
});

describe.each(backends)('lean custom gradients equal tfjs autodiff (%s)', (backend) => {
  // a backend that fails to start fails these tests (BackendUnavailableError says why), they are not skipped
  const use = async (): Promise<void> => {
    const choice = await selectBackend(backend);
    expect(choice.backend).toBe(backend);
  };

  it('per-channel GroupNorm with affine', async () => {
    await use();
    const xs = [tf.add(rand([2, 50, 5], 1, 3), 2), rand([5], 2, 0.5), rand([5], 3)];
    expectSame(vjp(normAffineLean as never, xs, 4), vjp(normReference, xs, 4), 'norm');
    tf.dispose(xs);
  });

  it('exact GELU, alone and followed by a 1x1x1 conv', async () => {
    await use();
    const u = rand([40, 6], 5, 3);
    expectSame(vjp(geluLean, [u], 6), vjp(gelu, [u], 6), 'gelu');
    const xs = [u, rand([4, 6], 7), rand([4], 8)];
    const reference = (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor => linearReference(gelu(a), w, b);
    expectSame(vjp(geluLinearLean as never, xs, 9), vjp(reference, xs, 9), 'gelu+linear');
    tf.dispose(xs);
  });

  it('1x1x1 conv, bias, residual and skip additions, reshape', async () => {
    await use();
    const xs = [rand([30, 4], 10), rand([7, 4], 11), rand([7], 12)];
    expectSame(vjp(linearLean as never, xs, 13), vjp(linearReference, xs, 13), 'linear');
    const xb = [rand([2, 9, 7], 14), rand([7], 15)];
    expectSame(vjp(addBiasLean, xb, 16), vjp(tf.add, xb, 16), 'bias');
    const xr = [rand([2, 9, 7], 17), rand([2, 9, 7], 18)];
    expectSame(vjp(addLean, xr, 19), vjp(tf.add, xr, 19), 'residual');
    const x5 = [rand([1, 2, 3, 4, 5], 25), rand([1, 2, 3, 4, 5], 26)];
    expectSame(vjp(add5Lean as never, x5, 27), vjp(tf.add, x5, 27), 'skip');
    const reshaped = (t: tf.Tensor): tf.Tensor => tf.square(reshapeLean(t, [6, 20]));
    expectSame(
      vjp(reshaped, [x5[0]], 28),
      vjp((t) => tf.square(tf.reshape(t, [6, 20])), [x5[0]], 28),
      'reshape',
    );
    tf.dispose([...xs, ...xb, ...xr, ...x5]);
  });

  it("front padding, stride-2 spreading and subsampling (the up/down blocks' reshuffles)", async () => {
    await use();
    const x = rand([2, 3, 4, 5, 3], 21);
    expectSame(vjp(padFrontLean as never, [x], 22), vjp(padFront as never, [x], 22), 'padFront');
    expectSame(vjp(spread2Lean as never, [x], 23), vjp(spread2 as never, [x], 23), 'spread2');
    // Odd and even sizes: the adjoint of subsampling must restore both.
    expectSame(vjp(subsample2Lean as never, [x], 24), vjp(subsample2 as never, [x], 24), 'subsample2');
    tf.dispose(x);
  });

  it.each(BLOCKS.map((b) => [b.name, b] as const))('whole block %s, plain and checkpointed', async (_, b) => {
    await use();
    const params = blockParams(b, 20);
    const names = [...params.keys()];
    const getter = (values: tf.Tensor[]): ParamGetter => {
      const m = new Map(names.map((n, i) => [n, values[i]]));
      return (n) => m.get(n)!;
    };
    const s = b.kind === 'up' ? 3 : 4;
    const inputs = [rand([1, s, s, s, b.cIn], 30), ...params.values()];
    const reference = (...xs: tf.Tensor[]): tf.Tensor => runBlock(xs[0] as tf.Tensor5D, b, getter(xs.slice(1)));
    const lean = (...xs: tf.Tensor[]): tf.Tensor => runBlockTrain(xs[0] as tf.Tensor5D, b, getter(xs.slice(1)));
    const ckpt = (...xs: tf.Tensor[]): tf.Tensor =>
      checkpointed((x, p) => runBlockTrain(x, b, p), xs[0] as tf.Tensor5D, names, getter(xs.slice(1)));
    const ref = vjp(reference, inputs, 31);
    expectSame(vjp(lean, inputs, 31), ref, `${b.name} lean`);
    const before = tf.memory().numTensors;
    expectSame(vjp(ckpt, inputs, 31), ref, `${b.name} checkpointed`);
    // The nested recomputation must not leak tensors or break the outer tape's clean-up.
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(inputs);
  });
});

describe('whole network: lean and checkpointed training give the autodiff gradients (cpu)', () => {
  it('MedNeXt-S-like tiny net with GRN, deep supervision', async () => {
    await selectBackend('cpu');
    const model = MedNeXt.create(
      { in_channels: 2, n_channels: 2, n_classes: 2, exp_r: 2, kernel_size: 3, deep_supervision: true, grn: true },
      { seed: 3 },
    );
    const x = rand([1, 16, 16, 16, 2], 40) as tf.Tensor5D;
    const loss = (leanGradients: boolean, checkpointBlocks: boolean) => () =>
      tf.addN(
        model
          .forward(x, { training: true, leanGradients, checkpointBlocks })
          .map((o, i) => tf.mul(tf.mean(tf.square(o)), i + 1)),
      ) as tf.Scalar;
    const reference = model.valueAndGrads(loss(false, false));
    for (const checkpointBlocks of [false, true]) {
      const before = tf.memory().numTensors;
      const got = model.valueAndGrads(loss(true, checkpointBlocks));
      // Early-freed gradients and saved tensors must not leak or disturb tfjs's own clean-up.
      expect(tf.memory().numTensors - before).toBe(1 + got.grads.size);
      expect(got.value.dataSync()[0]).toBeCloseTo(reference.value.dataSync()[0], 6);
      expect([...got.grads.keys()]).toEqual([...reference.grads.keys()]);
      for (const [name, g] of reference.grads) {
        if (name.endsWith('conv1.bias')) {
          // Zero in theory (the norm cancels it): both routes give rounding noise, small against the
          // gradient of the same block's norm bias.
          const scale = Math.max(
            ...Array.from(reference.grads.get(name.replace('conv1', 'norm'))!.dataSync(), Math.abs),
          );
          const noise = Math.max(...Array.from(got.grads.get(name)!.dataSync(), Math.abs));
          expect(noise, `${name}: |g| ${noise} vs norm.bias scale ${scale}`).toBeLessThanOrEqual(1e-4 * scale);
          continue;
        }
        // The gradient fixtures' criterion (per tensor): max |a − b| ≤ 1e-3·max |b| + 1e-7.
        const ref = g.dataSync();
        const maxRef = Math.max(...Array.from(ref, Math.abs));
        const { maxAbs } = closeness(got.grads.get(name)!.dataSync(), ref, 0, 0);
        expect(maxAbs, `${name} (checkpoint ${checkpointBlocks})`).toBeLessThanOrEqual(1e-3 * maxRef + 1e-7);
      }
      tf.dispose([got.value, ...got.grads.values()]);
    }
    tf.dispose([x, reference.value, ...reference.grads.values()]);
    model.dispose();
  });
});
