/**
 * Parsing helpers for inference flags.
 */
import { readFile } from 'node:fs/promises';
import {
  parsePostprocessConfig,
  parseRegionValues,
  resolvePostprocess,
  type PostprocessConfig,
  type RegionPostprocess,
  type TaskDefinition,
} from '@mednext-ts/mednext';
import { parseDims3 } from '../dims.js';

/** Parses `--weights 1,1,2` for `count` models (equal weights when absent). */
export function parseWeights(text: string | undefined, count: number): number[] | undefined {
  if (text === undefined) return undefined;
  const weights = text.split(',').map((s) => Number(s.trim()));
  if (weights.length !== count) throw new Error(`--weights: ${weights.length} value(s) for ${count} model(s)`);
  for (const w of weights)
    if (!(w > 0) || !Number.isFinite(w))
      throw new Error(`--weights: every weight must be a positive number, got '${text}'`);
  return weights;
}

/** Parses `128x160x112` (or `128,160,112`). */
export function parsePatchSize(text: string | undefined): [number, number, number] | undefined {
  if (text === undefined) return undefined;
  const dims = parseDims3(text);
  if (!dims) throw new Error(`--patch-size: expected e.g. 128x160x112, got '${text}'`);
  return dims;
}

/** Reads a postprocessing config file written by `mednext tune-postprocess`. */
export async function readPostprocessConfig(file: string): Promise<PostprocessConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(
      `${file}: cannot read postprocessing config (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parsePostprocessConfig(json, file);
}

/** Postprocessing settings from the task defaults, `--postprocess FILE`, `--thresholds` and `--min-sizes`. */
export async function postprocessFromFlags(
  task: TaskDefinition,
  flags: { postprocess?: string; thresholds?: string; 'min-sizes'?: string },
): Promise<RegionPostprocess[]> {
  const names = task.regions.map((r) => r.name);
  const config = flags.postprocess ? await readPostprocessConfig(flags.postprocess) : undefined;
  return resolvePostprocess(task, config, {
    thresholds: flags.thresholds ? parseRegionValues(flags.thresholds, names, '--thresholds') : undefined,
    minSizes: flags['min-sizes'] ? parseRegionValues(flags['min-sizes'], names, '--min-sizes') : undefined,
  });
}

/** One line describing postprocessing settings. */
export function describePostprocess(settings: readonly RegionPostprocess[]): string {
  return settings.map((s) => `${s.name} >= ${s.threshold}${s.minSize ? `, min ${s.minSize} vox` : ''}`).join('; ');
}
