/**
 * Training losses by name: built in `dice-focal` (batch Dice + focal loss, gamma 2, the seed
 * paper's) and `dice-bce` (soft Dice + binary cross-entropy, as nnU-Net). A task's recipe names
 * one; plugins add their own with `registerLoss` from `@mednext-ts/mednext` (which takes a tfjs
 * loss function). This table only holds the names, so the task API loads without tfjs.
 */
import { BUILT_IN, NamedRegistry, type RegistryEntry } from './named-registry.js';

/** A training loss. */
export interface LossDeclaration extends RegistryEntry {
  /**
   * The loss function (a `LossFn` of `@mednext-ts/mednext`: `(logits, target) => scalar`, both
   * `[N, regions, x, y, z]`, target 0/1). Built-ins leave this out.
   */
  lossFn?: unknown;
}

/** The losses known to this process. */
export const losses = new NamedRegistry<LossDeclaration>('loss');

losses.register({
  name: 'dice-focal',
  description: 'batch Dice + focal loss (gamma 2), as the seed paper',
  source: BUILT_IN,
});
losses.register({ name: 'dice-bce', description: 'soft Dice + binary cross-entropy, as nnU-Net', source: BUILT_IN });
