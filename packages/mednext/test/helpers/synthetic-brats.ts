/**
 * Tiny synthetic BraTS cases for tests: a box-shaped "brain" of non-zero intensities inside a
 * zero background, with a spherical "tumour" whose labels follow the task's convention.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { NiftiImage } from '@mednext-ts/io-nifti';
import { writeNifti } from '@mednext-ts/io-nifti/node';
import { Random } from '@mednext-ts/tensor3d';

export interface SyntheticCaseOptions {
  shape: [number, number, number];
  /** Brain box, start inclusive / end exclusive. */
  brain: { start: [number, number, number]; end: [number, number, number] };
  /** Tumour centre and radius (voxels); labels: core (r/2) = 3, ring = 1, edema shell to r = 2. */
  tumour?: { center: [number, number, number]; radius: number };
  seed: number;
}

export interface SyntheticCase {
  image: Float32Array; // [4, x, y, z]
  labels: Uint8Array;
  shape: [number, number, number];
}

/** Builds the arrays; each modality has its own mean and contrast so normalisation matters. */
export function makeSyntheticCase(o: SyntheticCaseOptions): SyntheticCase {
  const [nx, ny, nz] = o.shape;
  const n = nx * ny * nz;
  const rng = new Random(o.seed);
  const image = new Float32Array(4 * n);
  const labels = new Uint8Array(n);
  const base = [300, 500, 800, 650];
  const tumourGain = [80, 400, 300, 500];
  for (let x = 0; x < nx; x++)
    for (let y = 0; y < ny; y++)
      for (let z = 0; z < nz; z++) {
        const i = (x * ny + y) * nz + z;
        const inBrain = [x, y, z].every((v, a) => v >= o.brain.start[a]! && v < o.brain.end[a]!);
        if (!inBrain) continue;
        let label = 0;
        if (o.tumour) {
          const d = Math.hypot(x - o.tumour.center[0], y - o.tumour.center[1], z - o.tumour.center[2]);
          if (d <= o.tumour.radius * 0.35) label = 3;
          else if (d <= o.tumour.radius * 0.6) label = 1;
          else if (d <= o.tumour.radius) label = 2;
        }
        labels[i] = label;
        for (let c = 0; c < 4; c++) {
          const t = label === 0 ? 0 : tumourGain[c]! * (label === 3 ? 1 : label === 1 ? 0.6 : 0.3);
          image[c * n + i] = base[c]! + t + 20 * rng.normal();
        }
      }
  return { image, labels, shape: o.shape };
}

/** A diagonal affine with 1 mm voxels and an offset, so geometry round trips are visible. */
export const TEST_AFFINE = [
  [-1, 0, 0, 90],
  [0, -1, 0, 126],
  [0, 0, 1, -72],
  [0, 0, 0, 1],
];

/** Writes a case folder `<root>/<id>/<id>-{t1n,t1c,t2w,t2f,seg}.nii.gz`. */
export async function writeSyntheticCase(root: string, id: string, c: SyntheticCase, withSeg = true): Promise<string> {
  const dir = path.join(root, id);
  await mkdir(dir, { recursive: true });
  const n = c.shape[0] * c.shape[1] * c.shape[2];
  const mods = ['t1n', 't1c', 't2w', 't2f'];
  for (let m = 0; m < 4; m++) {
    const img = NiftiImage.fromCOrder(c.image.slice(m * n, (m + 1) * n), c.shape, { affine: TEST_AFFINE });
    await writeNifti(path.join(dir, `${id}-${mods[m]}.nii.gz`), img);
  }
  if (withSeg) {
    await writeNifti(
      path.join(dir, `${id}-seg.nii.gz`),
      NiftiImage.fromCOrder(c.labels, c.shape, { affine: TEST_AFFINE }),
    );
  }
  return dir;
}
