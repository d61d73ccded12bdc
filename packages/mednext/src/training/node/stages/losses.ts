/**
 * The training loss by name: the built-ins and those plugins register (the name -> implementation table of
 * `mednext train --loss`).
 */
import { MedNeXtError } from '../../../errors.js';
import { batchDiceFocalLoss, regionDiceBceLoss } from '../../../losses/region-losses.js';
import type { LossFn } from '../../../losses/deep-supervision.js';
import { losses, type LossDeclaration } from '../../../tasks/losses.js';
import type { RegisterOptions } from '../../../tasks/named-registry.js';

/** The loss of this name: a built-in, or one a plugin registered with {@link registerLoss}. */
export function lossByName(kind: string): LossFn {
  if (kind === 'dice-focal') return (logits, target) => batchDiceFocalLoss(logits, target);
  if (kind === 'dice-bce') return (logits, target) => regionDiceBceLoss(logits, target);
  if (losses.has(kind)) {
    const fn = losses.get(kind).lossFn;
    if (typeof fn === 'function') return fn as LossFn;
  }
  throw new MedNeXtError('TRAINING_SETTING', `unknown loss '${String(kind)}' (known: ${losses.names().join(', ')})`);
}

/**
 * Adds a training loss that task recipes (and `mednext train --loss`) may then name.
 *
 * @example
 * ```ts
 * registerLoss({ name: 'bce', description: 'binary cross-entropy', source: 'my-plugin', lossFn: bceWithLogits });
 * ```
 */
export function registerLoss(loss: LossDeclaration & { lossFn: LossFn }, options: RegisterOptions = {}): void {
  if (typeof loss?.lossFn !== 'function')
    throw new MedNeXtError('REGISTRY_ENTRY_INVALID', `loss '${String(loss?.name)}' must give lossFn(logits, target)`);
  losses.register(loss, options);
}
