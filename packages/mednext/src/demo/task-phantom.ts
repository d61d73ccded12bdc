/**
 * Seeded synthetic cases for any task: nested ellipsoids carrying the task's label values, and
 * one image per modality in which every label has its own intensity. Enough to run a task's
 * whole pipeline (preprocess, train, predict, evaluate, tune) before real data is at hand.
 */
import { Random, type Shape3, type Volume } from '@mednext-ts/tensor3d';
import type { TaskDefinition } from '../tasks/task.js';

/** Options of {@link generateTaskPhantom}. */
export interface TaskPhantomOptions {
  task: TaskDefinition;
  /** The same seed and options always give the same case. */
  seed: number;
  /** Grid size; default `[32, 32, 32]`. */
  shape?: Shape3;
  /** Voxel size in mm; default 1 mm isotropic. */
  spacing?: [number, number, number];
  /** Standard deviation of the added Gaussian noise, relative to the contrast between labels; default 0.1. */
  noise?: number;
}

/** A generated case of {@link generateTaskPhantom}. */
export interface TaskPhantom {
  /** `<task id>_<seed, 3 digits>`, e.g. `liver_007`. */
  id: string;
  modalities: string[];
  /** One float32 image per modality; 0 outside the body ellipsoid. */
  images: Volume<Float32Array>[];
  label: Volume<Uint8Array>;
}

/**
 * Generates one case: a "body" ellipsoid (label 0, intensity 100 in every modality), inside it an
 * ellipsoid of the first label, inside that one of the second, and so on (a smaller ellipsoid
 * within the previous one, so every label is present and regions made of several labels are
 * nested as anatomy usually is). Label k has intensity `100 + 60 (k + 1)` in modality 0 and a
 * permuted level in the others.
 *
 * @example
 * ```ts
 * const c = generateTaskPhantom({ task: registry.get('liver'), seed: 1, shape: [32, 32, 32] });
 * ```
 */
export function generateTaskPhantom(options: TaskPhantomOptions): TaskPhantom {
  const { task, seed } = options;
  const shape: Shape3 = options.shape ?? [32, 32, 32];
  const spacing = options.spacing ?? [1, 1, 1];
  const rng = new Random(seed);
  const [nx, ny, nz] = shape;
  const n = nx * ny * nz;
  const label = new Uint8Array(n);
  const body = new Uint8Array(n);
  const centre = [nx / 2, ny / 2, nz / 2];
  const fill = (target: Uint8Array, value: number, c: number[], r: number[]) => {
    for (let x = 0, i = 0; x < nx; x++) {
      for (let y = 0; y < ny; y++) {
        for (let z = 0; z < nz; z++, i++) {
          const d = ((x - c[0]!) / r[0]!) ** 2 + ((y - c[1]!) / r[1]!) ** 2 + ((z - c[2]!) / r[2]!) ** 2;
          if (d <= 1) target[i] = value;
        }
      }
    }
  };
  fill(body, 1, centre, [nx * 0.45, ny * 0.45, nz * 0.45]);
  // Each label inside the previous one: radii shrink, the centre wanders within the parent.
  let c = centre;
  let r = [nx * 0.3, ny * 0.3, nz * 0.3];
  for (const [k, l] of task.labels.entries()) {
    const scale = k === 0 ? rng.uniform(0.85, 1) : rng.uniform(0.4, 0.55);
    const nr = r.map((v) => Math.max(1.6, v * scale));
    const nc = c.map((v, a) => v + rng.uniform(-0.4, 0.4) * Math.max(0, r[a]! - nr[a]!));
    fill(label, l.value, nc, nr);
    c = nc;
    r = nr;
  }
  const noise = options.noise ?? 0.1;
  const images = task.modalities.map((_, m) => {
    const level = new Float32Array(256);
    task.labels.forEach((l, k) => (level[l.value] = 100 + 60 * (((k + m) % task.labels.length) + 1)));
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (!body[i] && !label[i]) continue;
      data[i] = (label[i] ? level[label[i]!]! : 100) + 60 * noise * rng.normal();
    }
    return { data, shape: [...shape] as Shape3, spacing };
  });
  return {
    id: `${task.id}_${String(seed).padStart(3, '0')}`,
    modalities: [...task.modalities],
    images,
    label: { data: label, shape: [...shape] as Shape3, spacing },
  };
}
