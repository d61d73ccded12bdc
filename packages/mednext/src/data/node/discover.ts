/**
 * Discovery of BraTS case folders under one or more dataset roots.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { BRATS_NAMING, imageFileName, imageFilePattern, type InputNaming } from '../../tasks/naming.js';
import { caseIdsInFlatFolder, isBratsNaming } from './case-files.js';
import { MedNeXtError } from '../../errors.js';

/** A dataset root and the source tag its cases get. */
export interface DatasetRoot {
  path: string;
  source: string;
}

/** A case folder found on disk. */
export interface DiscoveredCase {
  /** Folder name (BraTS case ids are the folder names, e.g. `BraTS-SSA-00002-000`). */
  id: string;
  source: string;
  dir: string;
  /** The case's files sit in `dir` beside other cases' (a flat nnU-Net-style folder). */
  flat?: boolean;
}

/**
 * Parses a `--root` value `path[:tag]`; without a tag the source is the folder's base name.
 * (A Windows drive letter `C:\…` is not mistaken for a tag.)
 */
export function parseRoot(value: string): DatasetRoot {
  const m = /^(.*[^:\\/]):([A-Za-z0-9_.-]+)$/.exec(value);
  if (m && !/^[A-Za-z]$/.test(m[1]!)) return { path: m[1]!, source: m[2]! };
  return { path: value, source: path.basename(path.resolve(value)) };
}

/**
 * Lists the case folders of each root: sub-folders holding a NIfTI file for the first modality
 * (named by `naming`, default BraTS `*-<modality>.nii[.gz]`). Folders without one are skipped; a
 * case id found under two roots is an error naming both.
 */
export async function discoverCases(
  roots: readonly DatasetRoot[],
  modalities: readonly string[],
  naming: InputNaming = BRATS_NAMING,
): Promise<DiscoveredCase[]> {
  if (roots.length === 0) throw new Error('discoverCases: no dataset roots given');
  const first = imageFilePattern(naming, modalities[0]!, 0);
  const found = new Map<string, DiscoveredCase>();
  for (const root of roots) {
    let entries;
    try {
      entries = await readdir(root.path, { withFileTypes: true });
    } catch (error) {
      throw new MedNeXtError(
        'DATASET_INVALID',
        `dataset root ${root.path}: cannot list (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        { file: root.path, cause: error },
      );
    }
    let count = 0;
    for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const dir = path.join(root.path, e.name);
      const files = await readdir(dir);
      if (!files.some((f) => first.test(f))) continue;
      const prior = found.get(e.name);
      if (prior)
        throw new MedNeXtError(
          'DATASET_INVALID',
          `case ${e.name} is in both ${prior.dir} and ${dir}; give each case once`,
        );
      found.set(e.name, { id: e.name, source: root.source, dir });
      count++;
    }
    if (count === 0) {
      // A flat folder (nnU-Net's imagesTr): every case's images side by side in the root itself.
      for (const id of caseIdsInFlatFolder(
        entries.filter((x) => x.isFile()).map((x) => x.name),
        modalities,
        naming,
      )) {
        const prior = found.get(id);
        if (prior)
          throw new MedNeXtError(
            'DATASET_INVALID',
            `case ${id} is in both ${prior.dir} and ${root.path}; give each case once`,
          );
        found.set(id, { id, source: root.source, dir: root.path, flat: true });
        count++;
      }
    }
    if (count === 0) {
      throw new MedNeXtError(
        'DATASET_INVALID',
        `dataset root ${root.path}: no case folders with ${imageFileName(naming, '*', modalities[0]!, 0)} files found${isBratsNaming(naming) ? '' : ', nor such files of several cases in the folder itself'}`,
        { file: root.path },
      );
    }
  }
  return [...found.values()];
}
