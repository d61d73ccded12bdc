/**
 * Writing phantom cases as BraTS case folders.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { NiftiImage } from '@mednext-ts/io-nifti';
import { writeNifti } from '@mednext-ts/io-nifti/node';
import { phantomAffine, type Phantom } from '@mednext-ts/mednext';

export { phantomAffine };

/**
 * Writes `<root>/<ID>/<ID>-{t1n,t1c,t2w,t2f}.nii.gz` (+ `-seg` unless `withLabel` is false) with `affine`
 * (default {@link phantomAffine}); returns the folder.
 */
export async function writePhantomCaseFolder(
  root: string,
  phantom: Phantom,
  withLabel = true,
  affine: number[][] = phantomAffine(phantom),
): Promise<string> {
  const dir = path.join(root, phantom.id);
  await mkdir(dir, { recursive: true });
  const shape = phantom.label.shape;
  for (const [i, m] of phantom.modalities.entries()) {
    await writeNifti(
      path.join(dir, `${phantom.id}-${m}.nii.gz`),
      NiftiImage.fromCOrder(phantom.images[i]!.data, shape, { affine, descrip: `mednext-ts phantom ${m}` }),
    );
  }
  if (withLabel)
    await writeNifti(
      path.join(dir, `${phantom.id}-seg.nii.gz`),
      NiftiImage.fromCOrder(phantom.label.data, shape, { affine, descrip: 'mednext-ts phantom labels' }),
    );
  return dir;
}
