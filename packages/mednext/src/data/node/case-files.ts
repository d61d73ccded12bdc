/**
 * A case folder read with a task's file naming (`task.inputNaming`): which files are the
 * modalities and the label map, and loading them as one case.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { assembleBratsCase, type BratsCase, type NamedImage } from '@mednext-ts/io-nifti';
import { loadBratsCase, readNifti } from '@mednext-ts/io-nifti/node';
import {
  BRATS_NAMING,
  imageFileName,
  imageFilePattern,
  labelFilePattern,
  type InputNaming,
} from '../../tasks/naming.js';

/** Whether a naming is the BraTS default (read by the io-nifti BraTS loader). */
export function isBratsNaming(naming: InputNaming): boolean {
  return naming.image === BRATS_NAMING.image && naming.label === BRATS_NAMING.label;
}

/**
 * The case id of a folder holding the first modality's image under `naming` (the folder's
 * name when the id part is empty), or null when it holds none.
 *
 * @throws when several files match the first modality.
 */
export function caseIdInFolder(
  names: readonly string[],
  dir: string,
  modalities: readonly string[],
  naming: InputNaming,
): string | null {
  const pattern = imageFilePattern(naming, modalities[0]!, 0);
  const hits = names.filter((n) => pattern.test(n));
  if (hits.length === 0) return null;
  if (hits.length > 1 && !isBratsNaming(naming))
    throw new Error(
      `${dir}: several files look like the first modality (${hits.join(', ')}); keep one case per folder`,
    );
  return pattern.exec(hits[0]!)![1] || path.basename(dir);
}

/**
 * Loads a case folder named by `naming`: every modality (one file each, shapes and affines must
 * agree) and the label map when present and `loadLabel` is not false.
 */
export async function loadCaseFolder(
  dir: string,
  modalities: readonly string[],
  naming: InputNaming,
  options: { loadLabel?: boolean } = {},
): Promise<BratsCase> {
  if (isBratsNaming(naming)) return loadBratsCase(dir, { modalities, loadLabel: options.loadLabel });
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    throw new Error(`${dir}: cannot list case folder (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      cause: error,
    });
  }
  const id = caseIdInFolder(names, dir, modalities, naming);
  if (id === null)
    throw new Error(
      `${dir}: no image of modality ${modalities[0]} (expected a file named like ${imageFileName(naming, '<ID>', modalities[0]!, 0)})`,
    );
  const images: NamedImage[] = [];
  for (const [i, m] of modalities.entries()) {
    const pattern = imageFilePattern(naming, m, i);
    const name = names.find((n) => pattern.exec(n)?.[1] === id);
    if (!name) throw new Error(`${dir}: missing modality ${m} (expected ${imageFileName(naming, id, m, i)})`);
    const file = path.join(dir, name);
    images.push({ name: m, file, image: await readNifti(file) });
  }
  let seg: NamedImage | undefined;
  if (options.loadLabel !== false) {
    const labelPattern = labelFilePattern(naming, id);
    const name = names.find((n) => labelPattern.test(n));
    if (name) {
      const file = path.join(dir, name);
      seg = { name: 'seg', file, image: await readNifti(file) };
    }
  }
  return assembleBratsCase(id, images, seg);
}
