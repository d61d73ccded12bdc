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
import { MedNeXtError } from '../../errors.js';

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
    throw new MedNeXtError(
      'INPUT_INVALID',
      `${dir}: several files look like the first modality (${hits.join(', ')}); keep one case per folder`,
      { file: dir },
    );
  return pattern.exec(hits[0]!)![1] || path.basename(dir);
}

/**
 * The case ids of a flat folder (nnU-Net's `imagesTr`: the images of many cases side by side),
 * sorted, from their first-modality images. Only for namings other than BraTS, whose cases
 * always have folders of their own.
 */
export function caseIdsInFlatFolder(
  names: readonly string[],
  modalities: readonly string[],
  naming: InputNaming,
): string[] {
  if (isBratsNaming(naming)) return [];
  const pattern = imageFilePattern(naming, modalities[0]!, 0);
  const ids = names.flatMap((n) => {
    const m = pattern.exec(n);
    return m && m[1] ? [m[1]] : [];
  });
  return [...new Set(ids)].sort();
}

/**
 * Folders a case's label map may be in: its own folder, and for nnU-Net's `imagesTr`/`imagesTs`
 * also the sibling `labelsTr`/`labelsTs`.
 */
function labelFolders(dir: string): string[] {
  const m = /^images(T[rs])$/.exec(path.basename(path.resolve(dir)));
  return m ? [dir, path.join(dir, '..', `labels${m[1]}`)] : [dir];
}

/** Options of {@link loadCaseFolder}. */
export interface LoadCaseFolderOptions {
  /** Load the label map when there is one (default true). */
  loadLabel?: boolean;
  /** The case to load from a flat folder holding several (see {@link caseIdsInFlatFolder}). */
  id?: string;
}

/**
 * Loads a case folder named by `naming` (or case `options.id` of a flat folder): every modality
 * (one file each, shapes and affines must agree) and the label map when present and `loadLabel`
 * is not false.
 */
export async function loadCaseFolder(
  dir: string,
  modalities: readonly string[],
  naming: InputNaming,
  options: LoadCaseFolderOptions = {},
): Promise<BratsCase> {
  if (isBratsNaming(naming) && options.id === undefined)
    return loadBratsCase(dir, { modalities, loadLabel: options.loadLabel });
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    throw new MedNeXtError(
      'INPUT_MISSING',
      `${dir}: cannot list case folder (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      { file: dir, cause: error },
    );
  }
  const id = options.id ?? caseIdInFolder(names, dir, modalities, naming);
  if (id === null)
    throw new MedNeXtError(
      'INPUT_MISSING',
      `${dir}: no image of modality ${modalities[0]} (expected a file named like ${imageFileName(naming, '<ID>', modalities[0]!, 0)})`,
      { file: dir },
    );
  const images: NamedImage[] = [];
  for (const [i, m] of modalities.entries()) {
    const pattern = imageFilePattern(naming, m, i);
    const name = names.find((n) => pattern.exec(n)?.[1] === id);
    if (!name)
      throw new MedNeXtError(
        'INPUT_MISSING',
        `${dir}: missing modality ${m} (expected ${imageFileName(naming, id, m, i)})`,
        { file: dir },
      );
    const file = path.join(dir, name);
    images.push({ name: m, file, image: await readNifti(file) });
  }
  let seg: NamedImage | undefined;
  if (options.loadLabel !== false) {
    const labelPattern = labelFilePattern(naming, id);
    for (const folder of labelFolders(dir)) {
      const inFolder = folder === dir ? names : await readdir(folder).catch(() => [] as string[]);
      const name = inFolder.find((n) => labelPattern.test(n));
      if (name) {
        const file = path.join(folder, name);
        seg = { name: 'seg', file, image: await readNifti(file) };
        break;
      }
    }
  }
  return assembleBratsCase(id, images, seg);
}
