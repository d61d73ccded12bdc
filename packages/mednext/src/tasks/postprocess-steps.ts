/**
 * Postprocessing steps by name, applied to a region's binary mask after threshold and minimum
 * component size: built in `keep-largest` (keep the largest 26-connected component) and
 * `fill-holes` (fill background cavities not connected to the volume's border); plugins add
 * their own with {@link registerPostprocessStep}.
 *
 * Declarations only: the built-in implementations live with the postprocessing code.
 */
import { BUILT_IN, NamedRegistry, type RegisterOptions, type RegistryEntry } from './named-registry.js';
import { MedNeXtError } from '../errors.js';

/** A step with its parameters: a name alone (`'fill-holes'`) or `{ step: name, ...parameters }`. */
export type PostprocessStepSpec = string | PostprocessStepParams;

/** A step name with its parameters. */
export interface PostprocessStepParams {
  step: string;
  [parameter: string]: unknown;
}

/** A postprocessing step. */
export interface PostprocessStep extends RegistryEntry {
  check?(params: PostprocessStepParams): string | undefined;
  /**
   * Changes a 0/1 mask (`[nx, ny, nz]`, C order) in place. Built-in steps leave this out; a
   * plugin's step must provide it.
   */
  apply?(mask: Uint8Array, shape: [number, number, number], params: PostprocessStepParams): void;
}

/** The postprocessing steps known to this process. */
export const postprocessSteps = new NamedRegistry<PostprocessStep>('postprocessing step');

postprocessSteps.register({
  name: 'keep-largest',
  description: 'keep only the largest 26-connected component (single-organ regions)',
  source: BUILT_IN,
});
postprocessSteps.register({
  name: 'fill-holes',
  description: 'fill background cavities that do not reach the border of the volume (6-connected background)',
  source: BUILT_IN,
});

/** Adds a postprocessing step (it must implement `apply`). */
export function registerPostprocessStep(step: PostprocessStep, options: RegisterOptions = {}): void {
  if (typeof step?.apply !== 'function')
    throw new MedNeXtError(
      'REGISTRY_ENTRY_INVALID',
      `postprocessing step '${String(step?.name)}' must implement apply(mask, shape, params)`,
    );
  postprocessSteps.register(step, options);
}

/** A spec as an object. */
export function postprocessStepParams(spec: PostprocessStepSpec): PostprocessStepParams {
  return typeof spec === 'string' ? { step: spec } : spec;
}

/** The problem with a spec, or undefined when it names a known step with usable parameters. */
export function postprocessStepProblem(spec: PostprocessStepSpec): string | undefined {
  if (typeof spec !== 'string' && (typeof spec !== 'object' || spec === null || typeof spec.step !== 'string'))
    return "must be a step name or an object with a 'step' name";
  const params = postprocessStepParams(spec);
  if (!postprocessSteps.has(params.step))
    return `unknown postprocessing step '${params.step}' (known: ${postprocessSteps.names().join(', ')})`;
  return postprocessSteps.get(params.step).check?.(params);
}
