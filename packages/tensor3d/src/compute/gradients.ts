/**
 * Registers tfjs's gradient functions for every core kernel.
 *
 * `@tensorflow/tfjs-core` alone registers none under Node: its `register_all_gradients` module is
 * extension-less ESM that Node cannot load. The umbrella package's Node bundle registers them all
 * on the shared core, so training (`tf.variableGrads`, `optimizer.minimize`) works everywhere.
 * Imported for its side effect by the compute layer; idempotent.
 */
import '@tensorflow/tfjs';
