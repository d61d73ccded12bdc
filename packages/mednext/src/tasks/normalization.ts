/**
 * Intensity normalisation per modality, by name: the task names a method for each modality, the
 * normalisation registry holds the methods (built in: `zscore-nonzero`, `ct`, `percentile-clip`,
 * `none`), and plugins add their own with {@link registerNormalization}.
 *
 * This module only declares the methods and checks their parameters, so it loads without any
 * tensor code; the built-in implementations live with the preprocessing.
 */
import { BUILT_IN, NamedRegistry, type RegisterOptions, type RegistryEntry } from './named-registry.js';
import { MedNeXtError } from '../errors.js';

/**
 * A normalisation with its parameters: a method name alone (`'zscore-nonzero'`) or an object
 * (`{ method: 'ct', window: [-100, 240] }`).
 */
export type NormalizationSpec = string | NormalizationParams;

/** A normalisation method name with its parameters. */
export interface NormalizationParams {
  method: string;
  [parameter: string]: unknown;
}

/** Statistics a normalisation reports for the record (cache metadata, checkpoint). */
export interface NormalizationStats {
  /** Mean and standard deviation the values were scaled with. */
  mean: number;
  std: number;
  /** Voxels the statistics were computed over. */
  count: number;
}

/** A normalisation method. */
export interface NormalizationMethod extends RegistryEntry {
  /** The problem with these parameters, or undefined when they are usable. */
  check?(params: NormalizationParams): string | undefined;
  /**
   * Normalises one cropped channel in place. Built-in methods leave this out (their
   * implementations live with the preprocessing code); a plugin's method must provide it.
   */
  apply?(data: Float32Array, params: NormalizationParams): NormalizationStats;
}

/** The normalisation methods known to this process. */
export const normalizations = new NamedRegistry<NormalizationMethod>('normalisation');

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

normalizations.register({
  name: 'zscore-nonzero',
  description: 'z-score over the non-zero voxels; zero voxels stay 0 (MRI, as nnU-Net and the BraTS seed paper)',
  source: BUILT_IN,
});
normalizations.register({
  name: 'ct',
  description:
    'clip to window [low, high] (e.g. Hounsfield units), then z-score with the given mean/std, or over all voxels when not given',
  source: BUILT_IN,
  check(params) {
    const w = params.window;
    if (!Array.isArray(w) || w.length !== 2 || !isNumber(w[0]) || !isNumber(w[1]) || !(w[0] < w[1]))
      return `window must be [low, high] with low < high, got ${JSON.stringify(w)}`;
    if ((params.mean === undefined) !== (params.std === undefined)) return 'mean and std must be given together';
    if (params.mean !== undefined && !isNumber(params.mean)) return `mean must be a number, got ${String(params.mean)}`;
    if (params.std !== undefined && !(isNumber(params.std) && params.std > 0))
      return `std must be a positive number, got ${String(params.std)}`;
    return undefined;
  },
});
normalizations.register({
  name: 'percentile-clip',
  description:
    'clip the non-zero voxels to their [lower, upper] percentiles (default 0.5, 99.5), then z-score over the non-zero voxels',
  source: BUILT_IN,
  check(params) {
    const lower = params.lower ?? 0.5;
    const upper = params.upper ?? 99.5;
    if (!isNumber(lower) || !isNumber(upper) || !(lower >= 0 && lower < upper && upper <= 100))
      return `lower and upper must be percentiles with 0 <= lower < upper <= 100, got ${String(lower)}, ${String(upper)}`;
    return undefined;
  },
});
normalizations.register({
  name: 'none',
  description: 'leave intensities as they are',
  source: BUILT_IN,
});

/**
 * Adds a normalisation method (it must implement `apply`).
 *
 * @example
 * ```ts
 * registerNormalization({
 *   name: 'scale-1000', description: 'divide by 1000', source: 'mednext-plugin-liver',
 *   apply(data) { for (let i = 0; i < data.length; i++) data[i] /= 1000; return { mean: 0, std: 1000, count: data.length }; },
 * });
 * ```
 */
export function registerNormalization(method: NormalizationMethod, options: RegisterOptions = {}): void {
  if (typeof method?.apply !== 'function')
    throw new MedNeXtError(
      'REGISTRY_ENTRY_INVALID',
      `normalisation '${String(method?.name)}' must implement apply(data, params)`,
    );
  normalizations.register(method, options);
}

/** A spec as an object. */
export function normalizationParams(spec: NormalizationSpec): NormalizationParams {
  return typeof spec === 'string' ? { method: spec } : spec;
}

/** The problem with a spec, or undefined when it names a known method with usable parameters. */
export function normalizationProblem(spec: NormalizationSpec): string | undefined {
  if (typeof spec !== 'string' && (typeof spec !== 'object' || spec === null || typeof spec.method !== 'string'))
    return "must be a method name or an object with a 'method' name";
  const params = normalizationParams(spec);
  if (!normalizations.has(params.method))
    return `unknown normalisation '${params.method}' (known: ${normalizations.names().join(', ')})`;
  return normalizations.get(params.method).check?.(params);
}

/** Whether a task's `normalization` field is a per-modality map (rather than one spec for all). */
function isPerModality(value: unknown, modalities: readonly string[]): value is Record<string, NormalizationSpec> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !('method' in value) &&
    Object.keys(value).every((k) => modalities.includes(k))
  );
}

/**
 * The normalisation of every modality of a task, in modality order (`zscore-nonzero` where the
 * task says nothing).
 */
export function resolveNormalization(task: {
  modalities: readonly string[];
  normalization?: NormalizationSpec | Record<string, NormalizationSpec>;
}): NormalizationParams[] {
  const field = task.normalization;
  return task.modalities.map((m) => {
    const spec =
      field === undefined
        ? 'zscore-nonzero'
        : isPerModality(field, task.modalities)
          ? (field[m] ?? 'zscore-nonzero')
          : (field as NormalizationSpec);
    return normalizationParams(spec);
  });
}
