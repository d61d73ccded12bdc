/**
 * Per-case outputs shared by predict, ensemble and demo: overlays and one-line summaries.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { coloursForLabels, overlayPngs, type TaskDefinition } from '@mednext-ts/mednext';
import { writeFileAtomic } from '@mednext-ts/mednext/node';

/** Whether a file exists. */
export async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Voxel counts per label, e.g. `NETC 812, SNFH 20311, ET 1904 voxels`. */
export function summarise(labels: Uint8Array, task: TaskDefinition): string {
  const counts = new Map<number, number>();
  for (const v of labels) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  return task.labels.map((l) => `${l.name} ${counts.get(l.value) ?? 0}`).join(', ') + ' voxels';
}

/** The three overlay PNGs of a case. */
export async function writeOverlays(
  dir: string,
  id: string,
  image: { data: Float32Array; shape: [number, number, number, number]; spacing?: [number, number, number] },
  labels: Uint8Array,
  task: TaskDefinition,
): Promise<string[]> {
  const [c, nx, ny, nz] = image.shape;
  const n = nx * ny * nz;
  const shape: [number, number, number] = [nx, ny, nz];
  const images = Array.from({ length: c }, (_, k) => ({
    data: image.data.subarray(k * n, (k + 1) * n),
    shape,
    spacing: image.spacing,
  }));
  const pngs = overlayPngs(
    images,
    { data: labels, shape },
    { colours: coloursForLabels(task.labels), deflate: (d) => deflateSync(d) },
  );
  const files: string[] = [];
  for (const [plane, bytes] of Object.entries(pngs)) {
    const file = path.join(dir, `${id}_${plane}.png`);
    await writeFileAtomic(file, bytes);
    files.push(file);
  }
  return files;
}
