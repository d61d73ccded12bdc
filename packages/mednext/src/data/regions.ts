/**
 * Region targets: the binary channels a region-based model is trained on, made from a label map
 * by the task's region definitions (e.g. SSA: WT = {1,2,3}, TC = {1,3}, ET = {3}).
 */
import type { RegionDefinition, TaskDefinition } from '../tasks/task.js';
import { MedNeXtError } from '../errors.js';

/**
 * Lookup table `label value → bit mask of the regions containing it` (bit r = region r). Labels
 * not named by any region (or out of range) map to 0.
 */
export function regionMaskTable(regions: readonly RegionDefinition[]): Uint32Array {
  if (regions.length > 32)
    throw new RangeError(`regionMaskTable: at most 32 regions are supported, got ${regions.length}`);
  const table = new Uint32Array(256);
  regions.forEach((region, r) => {
    for (const label of region.labels) {
      if (!Number.isInteger(label) || label < 0 || label > 255) {
        throw new RangeError(`region ${region.name}: label ${label} is outside 0..255`);
      }
      table[label]! |= 1 << r;
    }
  });
  return table;
}

/**
 * Converts a label map into region channels `[regions, ...spatial]`, channel r being 1 where the
 * label belongs to region r. The channel order is the task's region order.
 */
export function labelsToRegions(
  labels: ArrayLike<number>,
  regions: readonly RegionDefinition[],
  out?: Uint8Array,
): Uint8Array {
  const n = labels.length;
  const result = out ?? new Uint8Array(regions.length * n);
  if (result.length !== regions.length * n) {
    throw new RangeError(`labelsToRegions: output has ${result.length} elements, needs ${regions.length} x ${n}`);
  }
  const table = regionMaskTable(regions);
  for (let i = 0; i < n; i++) {
    const mask = table[labels[i]! & 255]!;
    for (let r = 0; r < regions.length; r++) result[r * n + i] = (mask >>> r) & 1;
  }
  return result;
}

/**
 * Checks a label map against a task: every non-zero value must be one of the task's labels.
 * Returns the sorted distinct values found (without 0). `what` names the map in the error.
 */
export function checkLabels(labels: ArrayLike<number>, task: TaskDefinition, what: string): number[] {
  const seen = new Set<number>();
  for (let i = 0; i < labels.length; i++) if (labels[i] !== 0) seen.add(labels[i]!);
  const known = new Set(task.labels.map((l) => l.value));
  const unknown = [...seen].filter((v) => !known.has(v)).sort((a, b) => a - b);
  if (unknown.length > 0) {
    throw new MedNeXtError(
      'TASK_MISMATCH',
      `${what}: label value(s) ${unknown.join(', ')} are not labels of task '${task.id}' ` +
        `(${task.labels.map((l) => `${l.value} ${l.name}`).join(', ')}); wrong --task?`,
    );
  }
  return [...seen].sort((a, b) => a - b);
}
