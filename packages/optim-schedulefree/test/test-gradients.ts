/**
 * Gradients for the handful of kernels the tests differentiate (the linear least-squares loss).
 * tfjs-core registers its gradients only from `dist/register_all_gradients.js`, which is
 * extensionless ESM that Node cannot load; the umbrella `@tensorflow/tfjs` (not a dependency here)
 * would normally import it. Each gradient is registered only if none exists yet.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Sums a broadcast gradient back to the input's shape. */
function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.broadcast_util.getReductionAxes(shape, g.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, shape);
}

/** Broadcasts `dy` of a reduction over `axisAttr` back to `shape`. */
function unreduce(dy: tf.Tensor, shape: number[], axisAttr: unknown): { grad: tf.Tensor; count: number } {
  const axes = tf.util.parseAxisParam(axisAttr as number | number[], shape);
  const kept = tf.backend_util.expandShapeToKeepDim(dy.shape, axes);
  const count = axes.reduce((n, a) => n * shape[a]!, 1);
  return { grad: tf.mul(tf.reshape(dy, kept), tf.ones(shape)), count };
}

const configs: tf.GradConfig[] = [
  {
    kernelName: 'Add',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(dy as tf.Tensor, a!.shape),
      b: () => unbroadcast(dy as tf.Tensor, b!.shape),
    }),
  },
  {
    kernelName: 'Sub',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(dy as tf.Tensor, a!.shape),
      b: () => tf.neg(unbroadcast(dy as tf.Tensor, b!.shape)),
    }),
  },
  {
    kernelName: 'Mul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy as tf.Tensor, b!), a!.shape),
      b: () => unbroadcast(tf.mul(dy as tf.Tensor, a!), b!.shape),
    }),
  },
  {
    kernelName: 'Square',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(x!, 2)) }),
  },
  {
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({ x: () => unreduce(dy as tf.Tensor, x!.shape, attrs.axis).grad }),
  },
  {
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({
      x: () => {
        const { grad, count } = unreduce(dy as tf.Tensor, x!.shape, attrs.axis);
        return tf.div(grad, count);
      },
    }),
  },
  {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      if (attrs.transposeA || attrs.transposeB) throw new Error('test gradients: transposed matMul not supported');
      return {
        a: () => tf.matMul(dy as tf.Tensor2D, b as tf.Tensor2D, false, true),
        b: () => tf.matMul(a as tf.Tensor2D, dy as tf.Tensor2D, true, false),
      };
    },
  },
];

for (const config of configs) {
  if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
}
