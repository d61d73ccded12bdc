/**
 * Per-case outputs shared by predict, ensemble and demo: overlays and one-line summaries.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { readNifti } from '@mednext-ts/io-nifti/node';
import { coloursForLabels, figurePngs, type TaskDefinition } from '@mednext-ts/mednext';
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

/** What the overlays show besides the prediction. */
export interface OverlayExtras {
  /** The true labels (same grid), drawn as a second row beside the prediction. */
  truth?: Uint8Array;
  /** Modality names over the columns, in channel order. */
  modalities?: readonly string[];
  /** Orientation code of the voxel axes (e.g. `LPS`, from the affine) for the letters at the panel edges. */
  orientation?: string;
  /** Filled labels (default) or their outlines. */
  style?: 'fill' | 'contour';
}

/**
 * The three overlay PNGs of a case, `<id>_{axial,coronal,sagittal}.png`: slices through the tumour centre with the
 * modality names, slice index, orientation letters and a legend; a second row shows the truth when given.
 */
export async function writeOverlays(
  dir: string,
  id: string,
  image: { data: Float32Array; shape: [number, number, number, number]; spacing?: [number, number, number] },
  labels: Uint8Array,
  task: TaskDefinition,
  extras: OverlayExtras = {},
): Promise<string[]> {
  const [c, nx, ny, nz] = image.shape;
  const n = nx * ny * nz;
  const shape: [number, number, number] = [nx, ny, nz];
  const images = Array.from({ length: c }, (_, k) => ({
    data: image.data.subarray(k * n, (k + 1) * n),
    shape,
    spacing: image.spacing,
  }));
  const rows = [{ title: 'prediction', label: { data: labels, shape } }];
  if (extras.truth) rows.push({ title: 'truth', label: { data: extras.truth, shape } });
  const pngs = figurePngs(images, rows, {
    colours: coloursForLabels(task.labels),
    deflate: (d) => deflateSync(d),
    names: extras.modalities,
    legend: task.labels.map((l) => ({ value: l.value, name: l.name })),
    orientation: extras.orientation,
    style: extras.style,
  });
  const files: string[] = [];
  for (const [plane, bytes] of Object.entries(pngs)) {
    const file = path.join(dir, `${id}_${plane}.png`);
    await writeFileAtomic(file, bytes);
    files.push(file);
  }
  return files;
}

/**
 * The ground-truth label file of a case for the overlays: under `labelsRoot` (`<ID>/<ID>-seg.nii.gz`,
 * `<ID>-seg.nii.gz` or `<ID>.nii.gz`), else the case folder's own `<ID>-seg.nii.gz`; undefined when there is none.
 */
export async function findTruthFile(
  id: string,
  caseDir: string | undefined,
  labelsRoot: string | undefined,
): Promise<string | undefined> {
  const candidates = [
    ...(labelsRoot
      ? [
          path.join(labelsRoot, id, `${id}-seg.nii.gz`),
          path.join(labelsRoot, `${id}-seg.nii.gz`),
          path.join(labelsRoot, `${id}.nii.gz`),
        ]
      : []),
    ...(caseDir ? [path.join(caseDir, `${id}-seg.nii.gz`)] : []),
  ];
  for (const file of candidates) if (await exists(file)) return file;
  return undefined;
}

/** Reads a label map for the overlays and checks it lies on the case's grid. */
export async function readTruth(file: string, shape: readonly number[]): Promise<Uint8Array> {
  const truth = (await readNifti(file)).toCOrder();
  if (truth.shape.join() !== shape.join())
    throw new Error(
      `${file}: label map of shape [${truth.shape.join(', ')}] for a case of shape [${shape.join(', ')}]`,
    );
  return Uint8Array.from(truth.data);
}
