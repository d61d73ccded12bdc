/**
 * Registers tfjs-core's own gradients (Sum, Mul, MatMul, Erf, ...) when they are missing.
 *
 * `@tensorflow/tfjs-core` resolves under Node to its CommonJS bundle, which contains the ops but none of
 * their gradient functions: those live only in the package's ES-module tree
 * (`dist/register_all_gradients.js`), which the umbrella `@tensorflow/tfjs` package would normally import.
 * Without them `tf.grad`/`tf.variableGrads`/`optimizer.minimize` fail with
 * "gradient function not found for Sum". Bundlers load that tree as is; Node cannot, because its
 * relative imports have no file extensions. Under Node we therefore install a module resolve hook that
 * adds `.js` to extension-less relative imports made from inside tfjs-core's `dist/` folder (and nothing
 * else), then import the registration module. Both copies of tfjs-core share tfjs's global engine,
 * kernel and gradient registries and tensor class, so the gradients apply to every op.
 */
import * as tf from '@tensorflow/tfjs-core';
import { isNode } from '../compute/environment.js';

/** The hook module, inlined as a data: URL so it needs no file of its own at run time. */
const RESOLVE_HOOK = `
export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL ?? '';
  if (parent.includes('/@tensorflow/tfjs-core/dist/') && specifier.startsWith('.') && !/\\.[cm]?js$/.test(specifier)) {
    try {
      return await nextResolve(specifier + '.js', context);
    } catch {
      return nextResolve(specifier + '/index.js', context);
    }
  }
  return nextResolve(specifier, context);
}
`;

/** A kernel whose gradient every tfjs-core gradient registry has; used to tell whether they are loaded. */
const PROBE_KERNEL = 'Sum';

let loading: Promise<void> | undefined;

/** Whether tfjs-core's standard gradients are registered (e.g. by `@tensorflow/tfjs` or a bundler). */
export function hasCoreGradients(): boolean {
  return tf.getGradient(PROBE_KERNEL) !== undefined;
}

/**
 * Makes sure tfjs-core's standard gradients are registered; a no-op when they already are. Call (and
 * await) it once before training. Under Node it takes about 2 s the first time (tfjs-core's ES-module
 * tree is loaded); later calls return the same promise.
 *
 * @throws when the runtime cannot load the gradients (e.g. Node older than 20.6, which has no
 * `module.register`)
 */
export function registerCoreGradients(): Promise<void> {
  loading ??= load();
  return loading;
}

async function load(): Promise<void> {
  if (hasCoreGradients()) return;
  if (isNode()) {
    const nodeModule = (await import('node:module')) as { register?: (url: string) => void };
    if (typeof nodeModule.register !== 'function') {
      throw new Error(
        `registerCoreGradients: this Node.js (${process.version}) has no module.register (needs >= 20.6), ` +
          `so tfjs-core's gradients cannot be loaded; install @tensorflow/tfjs instead`,
      );
    }
    nodeModule.register(`data:text/javascript,${encodeURIComponent(RESOLVE_HOOK)}`);
  }
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  if (!hasCoreGradients()) {
    throw new Error(
      `registerCoreGradients: loaded tfjs-core's gradient module but '${PROBE_KERNEL}' still has no gradient`,
    );
  }
}
