/**
 * Matching the files of one case to the task's modalities by their BraTS suffix
 * (`<ID>-t1n.nii.gz`, `<ID>-t1c.nii.gz`, ...). Platform-neutral: `mednext predict` applies it to
 * paths on disk and the web app to the files a user picked or dropped, so both accept and refuse
 * the same inputs with the same messages.
 */
import { MedNeXtError } from '../errors.js';

/** A NIfTI file name: `.nii` or `.nii.gz`, any case. */
export const NIFTI_FILE = /\.nii(\.gz)?$/i;

/** Suffix of the BraTS label map (`<ID>-seg.nii.gz`). */
export const LABEL_SUFFIX = 'seg';

/** `-<modality>.nii` or `-<modality>.nii.gz` at the end of a file name, any case. */
export function modalitySuffix(modality: string): RegExp {
  return new RegExp(`-${modality}\\.nii(\\.gz)?$`, 'i');
}

/** The first of `names` that ends with `-<modality>.nii(.gz)`, if any. */
export function modalityFile(names: readonly string[], modality: string): string | undefined {
  const suffix = modalitySuffix(modality);
  return names.find((n) => suffix.test(n));
}

/** The base name of a path or URL-like name (`a/b/c.nii.gz` → `c.nii.gz`), for either separator. */
export function baseName(name: string): string {
  return name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
}

/** Result of {@link matchCaseFiles}: indices into the names that were given. */
export interface MatchedCaseFiles {
  /** Case ID: the first modality's file name without `-<modality>.nii(.gz)`. */
  id: string;
  /** Index of each modality's file, in the given modality order. */
  modalities: number[];
  /** Index of the `-seg` label map, when one was given. */
  label?: number;
  /** Names that are neither a modality nor the label map (ignored, listed so a caller can say so). */
  ignored: number[];
}

/** Options of {@link matchCaseFiles}. */
export interface MatchCaseFilesOptions {
  /** Also pick up `<ID>-seg.nii(.gz)` as the label map (default true). */
  label?: boolean;
}

/**
 * Matches the files of ONE case (names or paths, e.g. a dropped BraTS case folder) to `modalities` by
 * their `-<modality>` suffix. Throws an error that names the problem and the files involved when a
 * modality is missing, a modality (or the label map) has several files, or the files belong to
 * different case IDs. Files that match nothing (e.g. a README in the folder) are returned in `ignored`.
 *
 * @example
 * matchCaseFiles(['X-t2f.nii.gz', 'X-t1n.nii.gz', 'X-t1c.nii.gz', 'X-t2w.nii.gz'], ['t1n', 't1c', 't2w', 't2f'])
 * // → { id: 'X', modalities: [1, 2, 3, 0], ignored: [] }
 */
export function matchCaseFiles(
  names: readonly string[],
  modalities: readonly string[],
  options: MatchCaseFilesOptions = {},
): MatchedCaseFiles {
  if (modalities.length === 0) throw new Error('no modalities to match the files against');
  const bases = names.map(baseName);
  const wanted = options.label === false ? [...modalities] : [...modalities, LABEL_SUFFIX];
  const found = wanted.map((m) => {
    const suffix = modalitySuffix(m);
    return bases.flatMap((b, i) => (suffix.test(b) ? [i] : []));
  });
  const problems: string[] = [];
  for (const [k, m] of wanted.entries()) {
    const hits = found[k]!;
    if (hits.length > 1) problems.push(`several files for ${m}: ${hits.map((i) => bases[i]).join(', ')}`);
  }
  const missing = modalities.filter((_, k) => found[k]!.length === 0);
  if (missing.length > 0) {
    const given = bases.length > 0 ? bases.join(', ') : 'none';
    problems.unshift(
      `missing ${missing.map((m) => `*-${m}.nii.gz`).join(', ')} (files given: ${given}); ` +
        `each modality needs one file named <ID>-<modality>.nii(.gz), modalities ${modalities.join(', ')}`,
    );
  }
  if (problems.length > 0) throw new MedNeXtError('INPUT_MISSING', problems.join('; '));
  const picked = found.map((hits) => hits[0]);
  const ids = wanted.flatMap((m, k) =>
    picked[k] === undefined ? [] : [{ m, id: bases[picked[k]!]!.replace(modalitySuffix(m), '') }],
  );
  const distinct = new Set(ids.map((x) => x.id));
  if (distinct.size > 1) {
    throw new MedNeXtError(
      'INPUT_INVALID',
      `the files belong to different cases (${ids.map((x) => `${x.m}: ${x.id}`).join(', ')}); give the files of one case`,
    );
  }
  const used = new Set(picked.filter((i): i is number => i !== undefined));
  return {
    id: ids[0]!.id,
    modalities: picked.slice(0, modalities.length) as number[],
    ...(options.label !== false && picked[modalities.length] !== undefined
      ? { label: picked[modalities.length]! }
      : {}),
    ignored: bases.flatMap((_, i) => (used.has(i) ? [] : [i])),
  };
}
