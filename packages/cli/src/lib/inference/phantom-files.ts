/**
 * Writing phantom cases as BraTS case folders.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { NiftiImage } from '@mednext-ts/io-nifti';
import { writeNifti } from '@mednext-ts/io-nifti/node';
import {
  imageFileName,
  labelFileName,
  phantomAffine,
  taskNaming,
  type Phantom,
  type TaskDefinition,
  type TaskPhantom,
} from '@mednext-ts/mednext';

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

/**
 * Writes a task phantom as a case folder named as the task's inputs are (`task.inputNaming`):
 * `<root>/<ID>/<image per modality>` and the label map unless `withLabel` is false; returns the folder.
 */
export async function writeTaskPhantomFolder(
  root: string,
  phantom: TaskPhantom,
  task: TaskDefinition,
  withLabel = true,
): Promise<string> {
  const dir = path.join(root, phantom.id);
  await mkdir(dir, { recursive: true });
  const shape = phantom.label.shape;
  const [sx, sy, sz] = phantom.label.spacing ?? [1, 1, 1];
  const affine = [
    [sx, 0, 0, 0],
    [0, sy, 0, 0],
    [0, 0, sz, 0],
    [0, 0, 0, 1],
  ];
  const naming = taskNaming(task);
  for (const [i, m] of phantom.modalities.entries()) {
    await writeNifti(
      path.join(dir, imageFileName(naming, phantom.id, m, i)),
      NiftiImage.fromCOrder(phantom.images[i]!.data, shape, { affine, descrip: `mednext-ts ${task.id} phantom ${m}` }),
    );
  }
  if (withLabel)
    await writeNifti(
      path.join(dir, labelFileName(naming, phantom.id)),
      NiftiImage.fromCOrder(phantom.label.data, shape, { affine, descrip: `mednext-ts ${task.id} phantom labels` }),
    );
  return dir;
}
