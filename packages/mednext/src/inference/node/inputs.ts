/**
 * What `mednext predict` reads: one BraTS case folder, a folder of case folders, or one file per
 * modality, turned into a list of cases and loaded on demand.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { assembleBratsCase, type BratsCase } from '@mednext-ts/io-nifti';
import { readNifti } from '@mednext-ts/io-nifti/node';
import { caseIdInFolder, caseIdsInFlatFolder, isBratsNaming, loadCaseFolder } from '../../data/node/case-files.js';
import { BRATS_NAMING, imageFileName, imageFilePattern, type InputNaming } from '../../tasks/naming.js';
import { NIFTI_FILE as NIFTI, modalityFile, modalitySuffix } from '../case-files.js';
import { MedNeXtError } from '../../errors.js';

/**
 * A case to predict: a BraTS folder, one case of a flat folder holding several (nnU-Net's
 * `imagesTs`, `flat: true`), or explicit files by modality.
 */
export type CaseInput = { id: string; dir: string; flat?: boolean } | { id: string; files: Record<string, string> };

/**
 * The case ID of a folder holding `<ID>-<first modality>.nii(.gz)` (or the image of the first
 * modality under another `naming`; the folder's name when `<ID>` is empty), or null when it holds
 * no such file.
 */
async function caseFolderId(dir: string, modalities: readonly string[], naming: InputNaming): Promise<string | null> {
  if (!isBratsNaming(naming)) return caseIdInFolder(await readdir(dir), dir, modalities, naming);
  const file = modalityFile(await readdir(dir), modalities[0]!);
  return file === undefined ? null : file.replace(modalitySuffix(modalities[0]!), '') || path.basename(dir);
}

/**
 * Resolves the command-line inputs to cases.
 *
 * - one folder holding `<ID>-<modality>.nii(.gz)` files: that case;
 * - one folder of such folders: every case inside (folders without the first modality are skipped);
 * - as many NIfTI files as modalities: one case; files are matched to modalities by their
 *   `-<modality>` suffix, or else taken in the task's modality order. The case ID is the first
 *   file's name without the suffix.
 */
export async function resolveCaseInputs(
  inputs: readonly string[],
  modalities: readonly string[],
  naming: InputNaming = BRATS_NAMING,
): Promise<CaseInput[]> {
  if (inputs.length === 0)
    throw new MedNeXtError(
      'INPUT_MISSING',
      'no input given: pass a case folder, a folder of cases, or one file per modality',
    );
  const kinds = await Promise.all(
    inputs.map(async (p) => {
      try {
        return (await stat(p)).isDirectory() ? 'dir' : 'file';
      } catch {
        throw new MedNeXtError('INPUT_MISSING', `${p}: no such file or folder`, { file: p });
      }
    }),
  );
  if (kinds.every((k) => k === 'file')) {
    if (inputs.length !== modalities.length) {
      throw new MedNeXtError(
        'INPUT_INVALID',
        `${inputs.length} file(s) given; pass exactly one per modality (${modalities.join(', ')}) or a case folder`,
      );
    }
    for (const f of inputs)
      if (!NIFTI.test(f))
        throw new MedNeXtError('INPUT_INVALID', `${f}: not a NIfTI file (.nii or .nii.gz)`, { file: f });
    const names = inputs.map((f) => path.basename(f));
    const bySuffix = isBratsNaming(naming)
      ? modalities.map((m) => modalityFile(names, m))
      : modalities.map((m, i) => names.find((n) => imageFilePattern(naming, m, i).test(n)));
    const files: Record<string, string> = {};
    if (bySuffix.every((n) => n !== undefined) && new Set(bySuffix).size === modalities.length) {
      modalities.forEach((m, i) => (files[m] = inputs[names.indexOf(bySuffix[i]!)]!));
    } else {
      modalities.forEach((m, i) => (files[m] = inputs[i]!));
    }
    const firstName = path.basename(files[modalities[0]!]!);
    const id = isBratsNaming(naming)
      ? firstName.replace(NIFTI, '').replace(new RegExp(`-${modalities[0]}$`, 'i'), '')
      : (imageFilePattern(naming, modalities[0]!, 0).exec(firstName)?.[1] ?? firstName.replace(NIFTI, ''));
    return [{ id, files }];
  }
  const cases: CaseInput[] = [];
  for (const [i, p] of inputs.entries()) {
    if (kinds[i] !== 'dir')
      throw new MedNeXtError(
        'INPUT_INVALID',
        `${p}: mixing files and folders is not supported; pass folders, or one file per modality`,
        { file: p },
      );
    const flatIds = caseIdsInFlatFolder(await readdir(p), modalities, naming);
    // Several cases side by side: a flat folder (one case alone is read as a case folder).
    if (flatIds.length > 1) {
      for (const id of flatIds) cases.push({ id, dir: p, flat: true });
      continue;
    }
    const id = await caseFolderId(p, modalities, naming);
    if (id !== null) {
      cases.push({ id, dir: p });
      continue;
    }
    const entries = (await readdir(p, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    let found = 0;
    for (const name of entries) {
      const dir = path.join(p, name);
      const inner = await caseFolderId(dir, modalities, naming);
      if (inner !== null) {
        cases.push({ id: inner, dir });
        found++;
      }
    }
    if (found === 0)
      throw new MedNeXtError(
        'INPUT_INVALID',
        `${p}: neither a case folder (no ${imageFileName(naming, '*', modalities[0]!, 0)}) nor a folder of case folders`,
        { file: p },
      );
  }
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.id))
      throw new MedNeXtError('INPUT_INVALID', `case ID ${c.id} appears twice in the inputs; outputs would collide`);
    seen.add(c.id);
  }
  return cases;
}

/** Loads a case (modalities in the given order, no label map). */
export async function loadCaseInput(
  input: CaseInput,
  modalities: readonly string[],
  naming: InputNaming = BRATS_NAMING,
): Promise<BratsCase> {
  if ('dir' in input)
    return loadCaseFolder(input.dir, modalities, naming, { loadLabel: false, ...(input.flat ? { id: input.id } : {}) });
  const images = await Promise.all(
    modalities.map(async (m) => ({ name: m, file: input.files[m]!, image: await readNifti(input.files[m]!) })),
  );
  return assembleBratsCase(input.id, images);
}
