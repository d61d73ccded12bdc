/**
 * Binarised regions back to a label map in the task's convention.
 */
import type { TaskDefinition } from '../tasks/index.js';

/**
 * Writes region masks into one label map following `task.regionsToLabels`: regions are painted
 * in that order and each later region overwrites the earlier ones (WT first, then TC, then ET for
 * the BraTS tasks), so the result is nested even if the masks were not (a TC voxel outside WT
 * still counts as tumour, as in nnU-Net's region-to-label conversion).
 *
 * @param masks - one 0/1 mask per region, in the task's region (channel) order.
 */
export function regionsToLabelMap(masks: readonly Uint8Array[], task: TaskDefinition): Uint8Array {
  if (masks.length !== task.regions.length) {
    throw new RangeError(
      `regionsToLabelMap: ${masks.length} masks for the ${task.regions.length} regions of task '${task.id}'`,
    );
  }
  const n = masks[0]!.length;
  for (const [i, m] of masks.entries())
    if (m.length !== n) throw new RangeError(`regionsToLabelMap: mask ${i} has ${m.length} voxels, mask 0 has ${n}`);
  const labels = new Uint8Array(n);
  for (const { region, label } of task.regionsToLabels) {
    const mask = masks[task.regions.findIndex((r) => r.name === region)]!;
    for (let i = 0; i < n; i++) if (mask[i]) labels[i] = label;
  }
  return labels;
}

/** Region masks of a label map (e.g. a ground truth): voxel in region when its label is one of the region's labels. */
export function labelMapToRegions(labels: ArrayLike<number>, task: TaskDefinition): Uint8Array[] {
  return task.regions.map((region) => {
    const member = new Set(region.labels);
    const mask = new Uint8Array(labels.length);
    for (let i = 0; i < labels.length; i++) if (member.has(labels[i]!)) mask[i] = 1;
    return mask;
  });
}
