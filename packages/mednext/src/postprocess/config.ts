/**
 * Postprocessing settings: per-region threshold and minimum component size, from the task's
 * defaults, a config file (as written by `mednext tune-postprocess`) and command-line overrides.
 */
import type { RegionPostprocessValues, TaskDefinition } from '../tasks/index.js';
import { postprocessStepParams, type PostprocessStepParams } from '../tasks/postprocess-steps.js';
import { MedNeXtError } from '../errors.js';

/** Settings of one region (one sigmoid channel). */
export interface RegionPostprocess {
  name: string;
  /** Voxels with probability >= threshold are in the region. */
  threshold: number;
  /** Connected components (26-connectivity) with fewer voxels are removed; 0 keeps everything. */
  minSize: number;
  /** Components with a lower mean probability are removed (pipelines with a component rule only). */
  minMeanProbability?: number;
  /** At most this many components are kept, largest first (pipelines with a component rule only). */
  maxComponents?: number;
  /** Further steps by name (the task region's `postprocess`), applied after the minimum size. */
  steps?: PostprocessStepParams[];
}

/** The JSON file `predict --postprocess` reads and `tune-postprocess` writes. */
export interface PostprocessConfig {
  /** Task the settings were made for (checked against the task in use when present). */
  task?: string;
  regions: Record<string, RegionPostprocessValues>;
  /** Free-form provenance (what was tuned on, the score reached). */
  note?: string;
}

/** Per-region values given on the command line, e.g. `{ ET: 0.7 }`. */
export type RegionOverrides = Record<string, number>;

/**
 * Parses `ET=0.7,TC=0.7` (or a single number meaning every region) into overrides; `what` names the flag in errors.
 */
export function parseRegionValues(text: string, regions: readonly string[], what: string): RegionOverrides {
  const trimmed = text.trim();
  if (/^[-+.\deE]+$/.test(trimmed)) {
    const value = Number(trimmed);
    if (!Number.isFinite(value)) throw new MedNeXtError('POSTPROCESS_CONFIG', `${what}: '${text}' is not a number`);
    return Object.fromEntries(regions.map((r) => [r, value]));
  }
  const out: RegionOverrides = {};
  for (const part of trimmed.split(',')) {
    const m = /^\s*([A-Za-z0-9_]+)\s*=\s*([-+.\deE]+)\s*$/.exec(part);
    if (!m)
      throw new MedNeXtError(
        'POSTPROCESS_CONFIG',
        `${what}: expected REGION=VALUE[,REGION=VALUE...] or one number, got '${part}'`,
      );
    const region = m[1]!.toUpperCase();
    if (!regions.includes(region))
      throw new MedNeXtError(
        'POSTPROCESS_CONFIG',
        `${what}: unknown region '${m[1]}' (regions: ${regions.join(', ')})`,
      );
    const value = Number(m[2]);
    if (!Number.isFinite(value)) throw new MedNeXtError('POSTPROCESS_CONFIG', `${what}: '${m[2]}' is not a number`);
    out[region] = value;
  }
  return out;
}

/** Checks a parsed JSON value is a {@link PostprocessConfig}; `source` names the file in errors. */
export function parsePostprocessConfig(value: unknown, source: string): PostprocessConfig {
  const fail = (problem: string): never => {
    throw new MedNeXtError('POSTPROCESS_CONFIG', `${source}: ${problem}`, { file: source });
  };
  if (typeof value !== 'object' || value === null) fail('not a JSON object');
  const v = value as Record<string, unknown>;
  if (typeof v.regions !== 'object' || v.regions === null) fail("missing object 'regions'");
  for (const [name, r] of Object.entries(v.regions as Record<string, unknown>)) {
    if (typeof r !== 'object' || r === null) fail(`regions.${name} is not an object`);
    const { threshold, minSize, minMeanProbability, maxComponents } = r as Record<string, unknown>;
    if (threshold !== undefined && typeof threshold !== 'number') fail(`regions.${name}.threshold is not a number`);
    if (minSize !== undefined && typeof minSize !== 'number') fail(`regions.${name}.minSize is not a number`);
    if (minMeanProbability !== undefined && typeof minMeanProbability !== 'number')
      fail(`regions.${name}.minMeanProbability is not a number`);
    if (maxComponents !== undefined && maxComponents !== null && typeof maxComponents !== 'number')
      fail(`regions.${name}.maxComponents is not a number or null`);
  }
  if (v.task !== undefined && typeof v.task !== 'string') fail("'task' is not a string");
  return v as unknown as PostprocessConfig;
}

/**
 * Resolves the settings of every region of `task`, in channel order: task defaults, then the
 * config file, then the command-line overrides. Values are validated (threshold in (0, 1),
 * minSize a non-negative integer); unknown region names are errors, not silently ignored.
 */
export function resolvePostprocess(
  task: TaskDefinition,
  config?: PostprocessConfig,
  overrides: { thresholds?: RegionOverrides; minSizes?: RegionOverrides } = {},
): RegionPostprocess[] {
  const names = task.regions.map((r) => r.name);
  if (config?.task !== undefined && config.task !== task.id) {
    throw new MedNeXtError(
      'POSTPROCESS_CONFIG',
      `postprocessing config was made for task '${config.task}', not '${task.id}'`,
    );
  }
  for (const [origin, record] of [
    ['postprocessing config', config?.regions],
    ['threshold override', overrides.thresholds],
    ['min-size override', overrides.minSizes],
  ] as const) {
    for (const name of Object.keys(record ?? {})) {
      if (!names.includes(name))
        throw new MedNeXtError(
          'POSTPROCESS_CONFIG',
          `${origin}: unknown region '${name}' for task '${task.id}' (regions: ${names.join(', ')})`,
        );
    }
  }
  return task.regions.map((region) => {
    const threshold =
      overrides.thresholds?.[region.name] ?? config?.regions[region.name]?.threshold ?? region.threshold;
    const minSize = overrides.minSizes?.[region.name] ?? config?.regions[region.name]?.minSize ?? region.minSize;
    if (!(threshold > 0 && threshold < 1))
      throw new MedNeXtError(
        'POSTPROCESS_CONFIG',
        `region ${region.name}: threshold must be in (0, 1), got ${threshold}`,
      );
    if (!Number.isInteger(minSize) || minSize < 0)
      throw new MedNeXtError(
        'POSTPROCESS_CONFIG',
        `region ${region.name}: minimum size must be a non-negative integer, got ${minSize}`,
      );
    const fromFile = config?.regions[region.name];
    const minMeanProbability = fromFile?.minMeanProbability ?? region.minMeanProbability ?? 0;
    const rawMax = fromFile && 'maxComponents' in fromFile ? fromFile.maxComponents : region.maxComponents;
    const maxComponents = rawMax === undefined || rawMax === null ? Number.POSITIVE_INFINITY : rawMax;
    if (!(minMeanProbability >= 0 && minMeanProbability < 1))
      throw new MedNeXtError(
        'POSTPROCESS_CONFIG',
        `region ${region.name}: minMeanProbability must be in [0, 1), got ${minMeanProbability}`,
      );
    if (!(Number.isInteger(maxComponents) && maxComponents > 0) && maxComponents !== Number.POSITIVE_INFINITY)
      throw new MedNeXtError(
        'POSTPROCESS_CONFIG',
        `region ${region.name}: maxComponents must be a positive integer or null, got ${maxComponents}`,
      );
    if (!task.pipeline && (minMeanProbability > 0 || maxComponents !== Number.POSITIVE_INFINITY)) {
      throw new MedNeXtError(
        'POSTPROCESS_CONFIG',
        `region ${region.name}: minMeanProbability and maxComponents need a pipeline with a component rule; task '${task.id}' has none`,
      );
    }
    // Only pipelines with a component rule carry the extra fields, so the default settings stay as they were.
    const steps = region.postprocess?.length ? { steps: region.postprocess.map(postprocessStepParams) } : {};
    return task.pipeline
      ? { name: region.name, threshold, minSize, minMeanProbability, maxComponents, ...steps }
      : { name: region.name, threshold, minSize, ...steps };
  });
}
