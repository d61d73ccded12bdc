/**
 * The built-in postprocessing steps (declared in the task API, `tasks/postprocess-steps.ts`) and
 * the dispatch from a step name to its implementation: built in here, or the `apply` of a step a
 * plugin registered.
 */
import { labelConnectedComponents, labelSizes, type Shape3 } from '@mednext-ts/tensor3d';
import {
  postprocessStepParams,
  postprocessSteps,
  type PostprocessStepParams,
  type PostprocessStepSpec,
} from '../tasks/postprocess-steps.js';
import { MedNeXtError } from '../errors.js';

/** Keeps, in place, only the largest 26-connected component of `mask` (the first one in C order on ties). */
export function keepLargestComponent(mask: Uint8Array, shape: Shape3): void {
  const { labels, count } = labelConnectedComponents(mask, shape, 26);
  if (count <= 1) return;
  const sizes = labelSizes(labels, count);
  let best = 1;
  for (let c = 2; c <= count; c++) if (sizes[c]! > sizes[best]!) best = c;
  for (let i = 0; i < mask.length; i++) if (labels[i] !== best) mask[i] = 0;
}

/**
 * Fills, in place, the holes of `mask`: background voxels whose 6-connected background component
 * does not touch the border of the volume (6-connected background is the complement of
 * 26-connected foreground, so no hole leaks through a diagonal gap).
 */
export function fillHoles(mask: Uint8Array, shape: Shape3): void {
  const [nx, ny, nz] = shape;
  const background = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) background[i] = mask[i] ? 0 : 1;
  const { labels, count } = labelConnectedComponents(background, shape, 6);
  if (count === 0) return;
  const outside = new Uint8Array(count + 1);
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      for (let z = 0; z < nz; z++) {
        if (x === 0 || y === 0 || z === 0 || x === nx - 1 || y === ny - 1 || z === nz - 1)
          outside[labels[(x * ny + y) * nz + z]!] = 1;
      }
    }
  }
  for (let i = 0; i < mask.length; i++) if (labels[i] && !outside[labels[i]!]) mask[i] = 1;
}

const BUILT_IN: Record<string, (mask: Uint8Array, shape: Shape3, params: PostprocessStepParams) => void> = {
  'keep-largest': keepLargestComponent,
  'fill-holes': fillHoles,
};

/** Applies the steps, in order, to a region mask in place. */
export function applyPostprocessSteps(mask: Uint8Array, shape: Shape3, steps: readonly PostprocessStepSpec[]): void {
  for (const spec of steps) {
    const params = postprocessStepParams(spec);
    const step = postprocessSteps.get(params.step);
    const problem = step.check?.(params);
    if (problem) throw new MedNeXtError('POSTPROCESS_CONFIG', `postprocessing step '${params.step}': ${problem}`);
    const apply = step.apply ?? BUILT_IN[params.step];
    if (!apply) throw new Error(`postprocessing step '${params.step}' has no implementation`);
    apply(mask, [shape[0], shape[1], shape[2]], params);
  }
}
