/**
 * tfjs-core's own gradients (Sum, Mul, MatMul, Erf, ...), needed by every training loop.
 *
 * The compute layer registers them when it is imported (`compute/gradients.ts`), because tfjs-core's
 * Node bundle has none. These helpers let callers check, and keep one awaited call site in
 * training code that also works where the compute layer was tree-shaken away.
 */
import { Tensor3dError } from '../errors.js';
import * as tf from '@tensorflow/tfjs-core';
import '../compute/gradients.js';

/** A kernel whose gradient every tfjs-core gradient registry has; used to tell whether they are loaded. */
const PROBE_KERNEL = 'Sum';

/** Whether tfjs-core's standard gradients are registered. */
export function hasCoreGradients(): boolean {
  return tf.getGradient(PROBE_KERNEL) !== undefined;
}

/**
 * Makes sure tfjs-core's standard gradients are registered.
 *
 * @throws when they are still missing (a bundler dropped the side-effect import)
 */
export async function registerCoreGradients(): Promise<void> {
  if (!hasCoreGradients()) {
    throw new Tensor3dError(
      'RUNTIME_UNAVAILABLE',
      `tfjs-core gradients are not registered ('${PROBE_KERNEL}' has none): import '@tensorflow/tfjs'`,
    );
  }
}
