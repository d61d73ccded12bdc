/**
 * Gradients of the tfjs kernels the network and the losses use.
 *
 * Why this exists: `@tensorflow/tfjs-core` registers no gradient functions by itself (the
 * `@tensorflow/tfjs` union package does), and its `register_all_gradients` module cannot be
 * imported under plain Node ESM (extensionless internal imports). So `tf.variableGrads` on a
 * project that depends only on tfjs-core fails with "gradient function not found for Mean".
 * We register our own, for exactly the kernels used here, and only where none is registered yet
 * (an application that loads the full tfjs keeps tfjs's own).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';

/** Sums `dy` over broadcast axes so it has `shape` (numpy broadcasting rules). */
function reduceTo(dy: Tensor, shape: readonly number[]): Tensor {
  if (dy.shape.length === shape.length && dy.shape.every((d, i) => d === shape[i])) return dy;
  const lead = dy.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < dy.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && dy.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length > 0 ? tf.sum(dy, axes) : dy;
  return tf.reshape(summed, [...shape]);
}

function normAxes(axis: unknown, rank: number): number[] {
  const list = axis === null || axis === undefined ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  return (list as number[]).map((a) => (a < 0 ? a + rank : a));
}

/** Shape of a reduction output with kept dimensions. */
function keptShape(shape: readonly number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

const unary = (kernelName: string, fn: (dy: Tensor, x: Tensor) => Tensor): GradConfig => ({
  kernelName,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => ({ x: () => fn(dy as Tensor, saved[0]) }),
});

const binary = (
  kernelName: string,
  da: (dy: Tensor, a: Tensor, b: Tensor) => Tensor,
  db: (dy: Tensor, a: Tensor, b: Tensor) => Tensor,
): GradConfig => ({
  kernelName,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved) => {
    const [a, b] = saved;
    return {
      a: () => reduceTo(da(dy as Tensor, a, b), a.shape),
      b: () => reduceTo(db(dy as Tensor, a, b), b.shape),
    };
  },
});

function matMulGrad(): GradConfig {
  return {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dyIn, saved, attrs: NamedAttrMap) => {
      const dy = dyIn as Tensor;
      const [a, b] = saved;
      const tA = Boolean(attrs.transposeA);
      const tB = Boolean(attrs.transposeB);
      const mm = (x: Tensor, y: Tensor, tx: boolean, ty: boolean): Tensor => tf.matMul(x, y, tx, ty);
      let da: () => Tensor;
      let db: () => Tensor;
      if (!tA && !tB) {
        da = () => mm(dy, b, false, true);
        db = () => mm(a, dy, true, false);
      } else if (!tA && tB) {
        da = () => mm(dy, b, false, false);
        db = () => mm(dy, a, true, false);
      } else if (tA && !tB) {
        da = () => mm(b, dy, false, true);
        db = () => mm(a, dy, false, false);
      } else {
        da = () => mm(b, dy, true, true);
        db = () => mm(dy, a, true, true);
      }
      return { a: () => reduceTo(da(), a.shape), b: () => reduceTo(db(), b.shape) };
    },
  };
}

function reductionGrad(kernelName: 'Sum' | 'Mean'): GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs: NamedAttrMap) => {
      const x = saved[0];
      const axes = normAxes(attrs.axis, x.rank);
      const count = axes.reduce((n, a) => n * x.shape[a], 1);
      return {
        x: () => {
          const g = tf.broadcastTo(tf.reshape(dy as Tensor, keptShape(x.shape, axes)), x.shape);
          return kernelName === 'Mean' ? tf.div(g, count) : g;
        },
      };
    },
  };
}

const GRADIENTS: GradConfig[] = [
  binary(
    'Add',
    (dy) => dy,
    (dy) => dy,
  ),
  binary(
    'Sub',
    (dy) => dy,
    (dy) => tf.neg(dy),
  ),
  binary(
    'Multiply',
    (dy, _a, b) => tf.mul(dy, b),
    (dy, a) => tf.mul(dy, a),
  ),
  binary(
    'RealDiv',
    (dy, _a, b) => tf.div(dy, b),
    (dy, a, b) => tf.neg(tf.div(tf.mul(dy, a), tf.square(b))),
  ),
  binary(
    'SquaredDifference',
    (dy, a, b) => tf.mul(dy, tf.mul(tf.sub(a, b), 2)),
    (dy, a, b) => tf.mul(dy, tf.mul(tf.sub(b, a), 2)),
  ),
  binary(
    'Pow',
    (dy, a, b) => tf.mul(dy, tf.mul(b, tf.pow(a, tf.sub(b, 1)))),
    // d/db a^b = a^b ln a, defined as 0 where a ≤ 0.
    (dy, a, b) => {
      const positive = tf.greater(a, 0);
      const logA = tf.where(positive, tf.log(tf.where(positive, a, tf.onesLike(a))), tf.zerosLike(a));
      return tf.mul(dy, tf.mul(tf.pow(a, b), logA));
    },
  ),
  matMulGrad(),
  reductionGrad('Sum'),
  reductionGrad('Mean'),
  unary('Neg', (dy) => tf.neg(dy)),
  unary('Abs', (dy, x) => tf.mul(dy, tf.sign(x))),
  unary('Exp', (dy, x) => tf.mul(dy, tf.exp(x))),
  unary('Log1p', (dy, x) => tf.div(dy, tf.add(x, 1))),
  unary('Sqrt', (dy, x) => tf.div(dy, tf.mul(tf.sqrt(x), 2))),
  unary('Rsqrt', (dy, x) => tf.div(dy, tf.mul(tf.pow(x, 1.5), -2))),
  unary('Square', (dy, x) => tf.mul(dy, tf.mul(x, 2))),
  unary('Relu', (dy, x) => tf.mul(dy, tf.cast(tf.greater(x, 0), 'float32'))),
  unary('Sigmoid', (dy, x) => {
    const s = tf.sigmoid(x);
    return tf.mul(dy, tf.mul(s, tf.sub(1, s)));
  }),
  unary('Erf', (dy, x) => tf.mul(dy, tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI)))),
  unary('Identity', (dy) => dy),
  unary('Cast', (dy) => dy),
  unary('ZerosLike', (dy) => tf.zerosLike(dy)),
  unary('OnesLike', (dy) => tf.zerosLike(dy)),
  {
    kernelName: 'Reshape',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.reshape(dy as Tensor, saved[0].shape) }),
  },
  {
    kernelName: 'Transpose',
    gradFunc: (dy, _saved, attrs: NamedAttrMap) => {
      const perm = attrs.perm as number[];
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return { x: () => tf.transpose(dy as Tensor, inverse) };
    },
  },
  {
    kernelName: 'PadV2',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs: NamedAttrMap) => {
      const x = saved[0];
      const begin = (attrs.paddings as Array<[number, number]>).map((p) => p[0]);
      return { x: () => tf.slice(dy as Tensor, begin, x.shape) };
    },
  },
  {
    kernelName: 'Slice',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs: NamedAttrMap) => {
      const x = saved[0];
      const rawBegin = attrs.begin as number | number[];
      const begin = Array.isArray(rawBegin) ? rawBegin : [rawBegin];
      const b = x.shape.map((_, i) => begin[i] ?? 0);
      const size = (dy as Tensor).shape;
      const paddings = x.shape.map((d, i) => [b[i], d - b[i] - size[i]] as [number, number]);
      return { x: () => tf.pad(dy as Tensor, paddings) };
    },
  },
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs: NamedAttrMap) => {
      const axisAttr = attrs.axis as number | number[];
      const rank = saved[0].rank;
      const axis = ((Array.isArray(axisAttr) ? axisAttr[0] : axisAttr) + rank) % rank;
      const parts = tf.split(
        dy as Tensor,
        saved.map((t) => t.shape[axis]),
        axis,
      );
      return parts.map((t) => () => t) as unknown as ReturnType<GradConfig['gradFunc']>;
    },
  },
  {
    kernelName: 'Pack',
    saveAllInputs: true,
    gradFunc: (dy, _saved, attrs: NamedAttrMap) => {
      const parts = tf.unstack(dy as Tensor, attrs.axis as number);
      return parts.map((t) => () => t) as unknown as ReturnType<GradConfig['gradFunc']>;
    },
  },
];

let registered = false;

/**
 * Registers the gradients of the kernels the MedNeXt network and losses use, skipping kernels that
 * already have one. Idempotent; called when the model module loads.
 */
export function registerMedNeXtGradients(): void {
  if (registered) return;
  registered = true;
  for (const g of GRADIENTS) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
}

registerMedNeXtGradients();
