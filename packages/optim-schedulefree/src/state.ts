import type { GroupScalars } from './schedule.js';

/** Identifies a JSON document produced by `saveState()`. */
export const STATE_FORMAT = 'mednext-ts/schedulefree-state';
/** Bumped whenever the JSON layout changes incompatibly. */
export const STATE_VERSION = 1;

/** One parameter's optimizer state in the JSON form. */
export interface ParameterStateJSON {
  /** Name of the tfjs variable the state belongs to. */
  name: string;
  /** The variable's shape. */
  shape: number[];
  /** Slot name (`z`, `exp_avg_sq`) → values in C order. float32 values survive JSON exactly. */
  slots: Record<string, number[]>;
}

/**
 * JSON-friendly snapshot of a Schedule-Free optimizer: everything needed to resume bit-for-bit
 * except the model parameters themselves, which the model checkpoint holds (x in eval mode, y in
 * train mode: the snapshot's `group.trainMode` says which).
 */
export interface ScheduleFreeStateJSON {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  /** `AdamWScheduleFree` or `SGDScheduleFree`. */
  className: string;
  /** The hyper-parameters, in the constructor's option shape (`new AdamWScheduleFree(state.config)`). */
  config: Record<string, unknown>;
  /** Group counters, kept as float64 numbers. */
  group: GroupScalars;
  /** Per-parameter state in the order the parameters first received a gradient. */
  params: ParameterStateJSON[];
}

/** Checks the structure of a parsed state document and throws naming the first bad field. */
export function validateStateJSON(
  owner: string,
  expectedClass: string,
  slotNames: readonly string[],
  state: unknown,
): ScheduleFreeStateJSON {
  const fail = (why: string): never => {
    throw new Error(`${owner}.loadState: ${why}`);
  };
  if (typeof state !== 'object' || state === null) fail('state must be an object');
  const s = state as Partial<ScheduleFreeStateJSON>;
  if (s.format !== STATE_FORMAT) fail(`"format" must be "${STATE_FORMAT}", got ${JSON.stringify(s.format)}`);
  if (s.version !== STATE_VERSION)
    fail(`unsupported "version" ${JSON.stringify(s.version)} (expected ${STATE_VERSION})`);
  if (s.className !== expectedClass) {
    fail(`state was saved by ${JSON.stringify(s.className)}, cannot load it into ${expectedClass}`);
  }
  const g = s.group as Partial<GroupScalars> | undefined;
  if (typeof g !== 'object' || g === null) fail('"group" is missing');
  for (const key of ['k', 'weightSum', 'lrMax', 'scheduledLr', 'ckp1'] as const) {
    if (typeof g![key] !== 'number' || !Number.isFinite(g![key])) fail(`"group.${key}" must be a finite number`);
  }
  if (!Number.isInteger(g!.k) || g!.k! < 0) fail('"group.k" must be a non-negative integer');
  if (typeof g!.trainMode !== 'boolean') fail('"group.trainMode" must be a boolean');
  if (!Array.isArray(s.params)) fail('"params" must be an array');
  const seen = new Set<string>();
  s.params!.forEach((p, i) => {
    const where = `"params[${i}]"`;
    if (typeof p?.name !== 'string' || p.name === '') fail(`${where}.name must be a non-empty string`);
    if (seen.has(p.name)) fail(`${where}: duplicate parameter name "${p.name}"`);
    seen.add(p.name);
    if (!Array.isArray(p.shape) || !p.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`${where}.shape must be an array of non-negative integers`);
    }
    const size = p.shape.reduce((a, b) => a * b, 1);
    for (const slot of slotNames) {
      const values = p.slots?.[slot];
      if (!Array.isArray(values)) fail(`${where}.slots.${slot} is missing`);
      if (values!.length !== size) fail(`${where}.slots.${slot} has ${values!.length} values, shape needs ${size}`);
    }
  });
  return s as ScheduleFreeStateJSON;
}
