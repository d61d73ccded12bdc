/** Pairing GT and prediction files by BraTS case ID. */

/** BraTS case IDs such as `BraTS-SSA-00002-000`, `BraTS-PED-00030-000`, `BraTS-MEN-RT-0001-1`. */
const BRATS_ID = /BraTS-[A-Za-z]+(?:-[A-Za-z]+)?-\d{4,5}-\d{1,3}/;

/** Modality images that sit next to the GT segmentation in BraTS case folders (not label maps). */
const MODALITY = /-(t1n|t1c|t2w|t2f|t1|t1ce|t2|flair)\.nii(\.gz)?$/i;

/**
 * The case ID of a label-map file name: the BraTS ID in the name if there is one, otherwise the
 * base name without `.nii[.gz]` and a trailing `-seg`/`_seg`. Returns null for modality images.
 */
export function caseIdOf(filePath: string): string | null {
  const base = filePath.split(/[\\/]/).pop() ?? filePath;
  if (!/\.nii(\.gz)?$/i.test(base) || MODALITY.test(base)) return null;
  const m = BRATS_ID.exec(base);
  if (m) return m[0];
  return base.replace(/\.nii(\.gz)?$/i, '').replace(/[-_]seg$/i, '');
}

/** Result of {@link pairCases}. */
export interface CasePairs {
  pairs: Array<{ id: string; gt: string; pred: string }>;
  /** IDs with a GT file but no prediction. */
  missingPrediction: string[];
  /** IDs with a prediction but no GT file. */
  missingGt: string[];
  /** IDs found in more than one file on one side (first file used), as `id: file, file`. */
  duplicates: string[];
}

function byId(files: readonly string[], duplicates: string[], side: string): Map<string, string> {
  const map = new Map<string, string>();
  const extra = new Map<string, string[]>();
  for (const f of files) {
    const id = caseIdOf(f);
    if (!id) continue;
    if (map.has(id)) extra.set(id, [...(extra.get(id) ?? [map.get(id)!]), f]);
    else map.set(id, f);
  }
  for (const [id, list] of extra) duplicates.push(`${side} ${id}: ${list.join(', ')}`);
  return map;
}

/** Pairs GT and prediction files by case ID, sorted by ID, and lists what could not be paired. */
export function pairCases(gtFiles: readonly string[], predFiles: readonly string[]): CasePairs {
  const duplicates: string[] = [];
  const gt = byId(gtFiles, duplicates, 'GT');
  const pred = byId(predFiles, duplicates, 'prediction');
  const pairs: CasePairs['pairs'] = [];
  const missingPrediction: string[] = [];
  for (const [id, g] of gt) {
    const p = pred.get(id);
    if (p) pairs.push({ id, gt: g, pred: p });
    else missingPrediction.push(id);
  }
  const missingGt = [...pred.keys()].filter((id) => !gt.has(id));
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  pairs.sort((a, b) => cmp(a.id, b.id));
  return { pairs, missingPrediction: missingPrediction.sort(cmp), missingGt: missingGt.sort(cmp), duplicates };
}
