/**
 * Deterministic k-fold cross-validation splits, stratified by data source.
 */
import { Random } from '@mednext-ts/tensor3d';
import { MedNeXtError } from '../errors.js';

/** A case as the split sees it. */
export interface SplitCase {
  id: string;
  /** Data source tag (e.g. `glioma`, `ssa`); splits keep each source's share equal across folds. */
  source: string;
}

/** One fold: the cases to train on and the cases to validate on. */
export interface Fold {
  train: string[];
  val: string[];
}

/** The content of `splits.json`. */
export interface SplitsFile {
  seed: number;
  folds: Fold[];
  /** Source tag of every case, so a reader can see the stratification. */
  sources: Record<string, string>;
}

/**
 * Splits cases into `k` folds. Within each source the cases are sorted by id (so the result does
 * not depend on directory listing order), shuffled with `seed`, and dealt round-robin; each
 * source continues dealing where the previous one stopped, so fold sizes differ by at most one
 * overall and each source's cases are spread evenly.
 */
export function makeFolds(cases: readonly SplitCase[], k: number, seed: number): SplitsFile {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`makeFolds: need k >= 2 folds, got ${k}`);
  if (cases.length < k) throw new RangeError(`makeFolds: ${cases.length} cases cannot fill ${k} folds`);
  const ids = new Set<string>();
  for (const c of cases) {
    if (ids.has(c.id)) throw new MedNeXtError('DATASET_INVALID', `makeFolds: case id '${c.id}' appears twice`);
    ids.add(c.id);
  }
  const rng = new Random(seed);
  const bySource = new Map<string, string[]>();
  for (const c of cases) {
    if (!bySource.has(c.source)) bySource.set(c.source, []);
    bySource.get(c.source)!.push(c.id);
  }
  const val: string[][] = Array.from({ length: k }, () => []);
  let next = 0;
  for (const source of [...bySource.keys()].sort()) {
    const list = rng.shuffle([...bySource.get(source)!].sort());
    for (const id of list) {
      val[next]!.push(id);
      next = (next + 1) % k;
    }
  }
  const all = [...ids].sort();
  const folds = val.map((v) => {
    const inVal = new Set(v);
    return { train: all.filter((id) => !inVal.has(id)), val: [...v].sort() };
  });
  const sources: Record<string, string> = {};
  for (const c of [...cases].sort((a, b) => a.id.localeCompare(b.id))) sources[c.id] = c.source;
  return { seed, folds, sources };
}

/** Validates a parsed `splits.json`; `where` names the file in errors. */
export function checkSplits(value: unknown, where: string): SplitsFile {
  const s = value as Partial<SplitsFile>;
  if (!s || !Array.isArray(s.folds) || s.folds.length < 2)
    throw new MedNeXtError('SPLITS_INVALID', `${where}: expected {"folds": [...]} with >= 2 folds`, { file: where });
  s.folds.forEach((f, i) => {
    if (!Array.isArray(f?.train) || !Array.isArray(f?.val))
      throw new MedNeXtError('SPLITS_INVALID', `${where}: fold ${i} needs "train" and "val" arrays`, { file: where });
    const inTrain = new Set(f.train);
    const both = f.val.filter((id) => inTrain.has(id));
    if (both.length > 0)
      throw new MedNeXtError(
        'SPLITS_INVALID',
        `${where}: fold ${i} has case(s) in both train and val: ${both.slice(0, 3).join(', ')}`,
        { file: where },
      );
  });
  return { seed: s.seed ?? 0, folds: s.folds, sources: s.sources ?? {} };
}
