import { add, mul, sub, type Tensor } from '@tensorflow/tfjs-core';

import { lerpForm } from './schedule.js';

/**
 * Linear interpolation `a + w·(b − a)` with PyTorch's two-branch formula: for `|w| ≥ 0.5` it is
 * evaluated as `b − (b − a)·(1 − w)`, so `w = 1` returns exactly `b`. Schedule-Free relies on that
 * at its first step (`c_1 = 1` makes y equal to z bit for bit). `1 − w` is computed in float64.
 * Must be called inside `tidy` by the caller; the result is a new tensor.
 */
export function lerp(a: Tensor, b: Tensor, w: number): Tensor {
  const diff = sub(b, a);
  const form = lerpForm(w);
  return form.fromEnd ? sub(b, mul(diff, form.factor)) : add(a, mul(diff, form.factor));
}
