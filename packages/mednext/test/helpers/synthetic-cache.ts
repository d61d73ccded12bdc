/** Writes a preprocessing cache of tiny synthetic cases directly (no NIfTI round trip). */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { preprocessCaseArrays } from '../../src/data/preprocess-case.js';
import { DATASET_FILE, writeCachedCase, writeFileAtomic } from '../../src/data/node/cache.js';
import type { TaskDefinition } from '../../src/tasks/task.js';
import { TEST_AFFINE, makeSyntheticCase } from './synthetic-brats.js';

/** `count` cases of `shape` with a tumour at a case-dependent position; returns the ids. */
export async function writeSyntheticCache(
  dir: string,
  task: TaskDefinition,
  count: number,
  shape: [number, number, number],
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const ids: string[] = [];
  for (let k = 0; k < count; k++) {
    const id = `CASE-${k}`;
    const r = 3 + (k % 3);
    const center: [number, number, number] = [
      r + 2 + ((k * 5) % (shape[0] - 2 * r - 4)),
      r + 2 + ((k * 3) % (shape[1] - 2 * r - 4)),
      r + 2 + ((k * 7) % (shape[2] - 2 * r - 4)),
    ];
    const c = makeSyntheticCase({
      shape,
      brain: { start: [1, 1, 1], end: shape.map((s) => s - 1) as [number, number, number] },
      tumour: { center, radius: r },
      seed: 100 + k,
    });
    const arrays = preprocessCaseArrays(
      {
        id,
        source: k % 2 === 0 ? 'a' : 'b',
        modalities: task.modalities,
        image: { data: c.image, shape: [4, ...shape] },
        labels: { data: c.labels, shape },
        affine: TEST_AFFINE,
        spacing: [1, 1, 1],
        files: {},
      },
      task,
    );
    await writeCachedCase(dir, arrays);
    ids.push(id);
  }
  await writeFileAtomic(
    path.join(dir, DATASET_FILE),
    JSON.stringify({
      version: 1,
      task: task.id,
      modalities: task.modalities,
      regions: task.regions.map((r) => r.name),
      cases: ids.map((id, k) => ({ id, source: k % 2 === 0 ? 'a' : 'b' })),
    }),
  );
  return ids;
}
