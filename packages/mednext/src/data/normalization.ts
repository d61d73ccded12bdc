/**
 * The implementations of the built-in normalisation methods (declared in the task API,
 * `tasks/normalization.ts`), and the dispatch from a method name to its implementation: built
 * in here, or the `apply` of a method a plugin registered.
 */
import { zscoreNonZero, type Shape3 } from '@mednext-ts/tensor3d';
import {
  normalizationParams,
  normalizations,
  type NormalizationParams,
  type NormalizationSpec,
  type NormalizationStats,
} from '../tasks/normalization.js';
import { MedNeXtError } from '../errors.js';

/** A normalisation implementation: normalises one cropped channel in place. */
type Implementation = (data: Float32Array, shape: Shape3, params: NormalizationParams) => NormalizationStats;

/** z-score with statistics over all voxels (float64 accumulation, population std, as zscoreNonZero). */
function zscoreAll(data: Float32Array): NormalizationStats {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i]!;
  const mean = data.length ? sum / data.length : 0;
  let sq = 0;
  for (let i = 0; i < data.length; i++) sq += (data[i]! - mean) ** 2;
  const std = data.length ? Math.sqrt(sq / data.length) : 0;
  scale(data, mean, std);
  return { mean, std, count: data.length };
}

function scale(data: Float32Array, mean: number, std: number): void {
  const s = 1 / Math.max(std, 1e-8);
  for (let i = 0; i < data.length; i++) data[i] = (data[i]! - mean) * s;
}

/** Linear-interpolated percentile (numpy's default) of sorted values. */
function percentile(sorted: Float32Array, p: number): number {
  if (sorted.length === 0) return 0;
  const pos = ((sorted.length - 1) * p) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const BUILT_IN: Record<string, Implementation> = {
  // The training preprocessing of the seed paper: the shared tensor3d function, unchanged.
  'zscore-nonzero': (data, shape) => {
    const z = zscoreNonZero({ data, shape });
    data.set(z.volume.data);
    return { mean: z.mean, std: z.std, count: z.count };
  },
  ct: (data, _shape, params) => {
    const [low, high] = params.window as [number, number];
    for (let i = 0; i < data.length; i++) data[i] = Math.min(high, Math.max(low, data[i]!));
    if (typeof params.mean === 'number' && typeof params.std === 'number') {
      scale(data, params.mean, params.std);
      return { mean: params.mean, std: params.std, count: data.length };
    }
    return zscoreAll(data);
  },
  'percentile-clip': (data, shape, params) => {
    let n = 0;
    for (let i = 0; i < data.length; i++) if (data[i] !== 0) n++;
    const values = new Float32Array(n);
    for (let i = 0, k = 0; i < data.length; i++) if (data[i] !== 0) values[k++] = data[i]!;
    values.sort();
    const low = percentile(values, (params.lower as number | undefined) ?? 0.5);
    const high = percentile(values, (params.upper as number | undefined) ?? 99.5);
    // Only non-zero voxels are clipped: zero stays background for the z-score that follows.
    for (let i = 0; i < data.length; i++) if (data[i] !== 0) data[i] = Math.min(high, Math.max(low, data[i]!));
    return BUILT_IN['zscore-nonzero']!(data, shape, params);
  },
  none: (data) => ({ mean: 0, std: 1, count: data.length }),
};

/**
 * Normalises one cropped channel in place with the method `spec` names and returns the
 * statistics used.
 *
 * @throws when the method is unknown or its parameters are wrong (naming `where`).
 */
export function normalizeChannel(
  data: Float32Array,
  shape: Shape3,
  spec: NormalizationSpec,
  where: string,
): NormalizationStats {
  const params = normalizationParams(spec);
  if (!normalizations.has(params.method))
    throw new MedNeXtError(
      'NORMALIZATION_INVALID',
      `${where}: unknown normalisation '${params.method}' (known: ${normalizations.names().join(', ')})`,
    );
  const method = normalizations.get(params.method);
  const problem = method.check?.(params);
  if (problem)
    throw new MedNeXtError('NORMALIZATION_INVALID', `${where}: normalisation '${params.method}': ${problem}`);
  const apply = method.apply ? (d: Float32Array) => method.apply!(d, params) : BUILT_IN[params.method];
  if (!apply) throw new Error(`${where}: normalisation '${params.method}' has no implementation`);
  return apply(data, shape, params);
}

/**
 * The per-modality normalisation recorded in a checkpoint (in modality order). Checkpoints from
 * before per-modality normalisation record the string `zscore-nonzero` for all modalities.
 */
export function normalizationFromRecord(
  record: unknown,
  modalities: readonly string[],
  source: string,
): NormalizationParams[] {
  if (record === undefined || record === null) return modalities.map(() => ({ method: 'zscore-nonzero' }));
  if (typeof record === 'string') return modalities.map(() => ({ method: record }));
  if (!Array.isArray(record) || record.length !== modalities.length)
    throw new MedNeXtError(
      'NORMALIZATION_INVALID',
      `${source}: the recorded normalisation must list one method per modality (${modalities.join(', ')}), got ${JSON.stringify(record)}`,
    );
  return record.map((r) => normalizationParams(r as NormalizationSpec));
}
