/**
 * Voxel sizes as nibabel reports them for an image re-saved with its affine: the lengths of the
 * affine's first three columns. The BraTS evaluation takes the prediction's spacing this way.
 */
import type { NiftiImage } from './image.js';

/**
 * The lengths of the first three columns of `image.affine` (mm per voxel along i, j, k).
 *
 * @example
 * affineSpacing(image); // e.g. [1, 1, 1] for a BraTS case
 */
export function affineSpacing(image: Pick<NiftiImage, 'affine'>): [number, number, number] {
  const a = image.affine;
  const col = (c: number) => Math.hypot(a[0]![c]!, a[1]![c]!, a[2]![c]!);
  return [col(0), col(1), col(2)];
}
