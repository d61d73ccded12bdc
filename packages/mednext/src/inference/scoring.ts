/**
 * Which BraTS evaluation protocol of @mednext-ts/metrics scores a mednext task's label maps.
 */
import type { TaskName } from '@mednext-ts/metrics';
import type { TaskDefinition } from '../tasks/index.js';

/**
 * The BraTS evaluation protocol for a mednext task: paediatric tasks use `ped`, adult-label tasks `ssa`.
 *
 * @example
 * evaluateCase({ gt, pred, task: metricsTaskFor(task), id });
 */
export function metricsTaskFor(task: Pick<TaskDefinition, 'id'>): TaskName {
  return task.id.startsWith('ped') ? 'ped' : 'ssa';
}
