/**
 * Cross-check against the SciPy reference (bench/reference.py, written from the spec and verified
 * on every official fixture) on synthetic cases with ANISOTROPIC spacing, where the official
 * fixtures have only 1 mm voxels (the GT threshold is in mm³ but the prediction filter in voxels).
 * Skipped when python3 with SciPy is not installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Shape3 } from '@mednext-ts/tensor3d/volume';
import { evaluateCase, type TaskName } from '../src/index.js';

const PY = '/usr/bin/python3';
const hasScipy = spawnSync(PY, ['-c', 'import scipy, numpy'], { stdio: 'ignore' }).status === 0;
const REFERENCE = fileURLToPath(new URL('../bench/reference.py', import.meta.url));
const tmp = mkdtempSync(path.join(tmpdir(), 'metrics-xcheck-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nested-ellipsoid tumours (labels drawn from the task's set), satellites, noise on the borders. */
function synthetic(shape: Shape3, seed: number, labels: number[]): Uint8Array {
  const r = rng(seed);
  const [nx, ny, nz] = shape;
  const out = new Uint8Array(nx * ny * nz);
  const blobs = 2 + Math.floor(r() * 4);
  for (let b = 0; b < blobs; b++) {
    const c = [r() * nx, r() * ny, r() * nz];
    const rad = [2 + r() * 8, 2 + r() * 8, 1 + r() * 6];
    const layers = labels
      .slice()
      .sort(() => r() - 0.5)
      .slice(0, 1 + Math.floor(r() * labels.length));
    for (let x = 0, i = 0; x < nx; x++)
      for (let y = 0; y < ny; y++)
        for (let z = 0; z < nz; z++, i++) {
          const d = ((x - c[0]) / rad[0]) ** 2 + ((y - c[1]) / rad[1]) ** 2 + ((z - c[2]) / rad[2]) ** 2;
          const jitter = 0.25 * (r() - 0.5);
          for (let l = 0; l < layers.length; l++) {
            if (d + jitter < 1 - l / (layers.length + 0.5)) out[i] = layers[l];
          }
        }
  }
  return out;
}

/** A prediction: the GT shifted by up to one voxel, some labels swapped, plus a random FP blob. */
function perturb(gt: Uint8Array, shape: Shape3, seed: number, labels: number[]): Uint8Array {
  const r = rng(seed);
  const [nx, ny, nz] = shape;
  const s = [Math.round(r() * 2 - 1), Math.round(r() * 2 - 1), Math.round(r() * 2 - 1)];
  const out = new Uint8Array(gt.length);
  for (let x = 0, i = 0; x < nx; x++)
    for (let y = 0; y < ny; y++)
      for (let z = 0; z < nz; z++, i++) {
        const [a, b, c] = [x - s[0], y - s[1], z - s[2]];
        if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz) continue;
        let v = gt[(a * ny + b) * nz + c];
        if (v && r() < 0.02) v = labels[Math.floor(r() * labels.length)];
        out[i] = v;
      }
  const fp = synthetic(shape, seed * 7 + 1, labels.slice(0, 1));
  for (let i = 0; i < out.length; i++) if (fp[i] && !out[i] && r() < 0.5) out[i] = fp[i];
  return out;
}

const CASES: Array<{ task: TaskName; spacing: [number, number, number]; seed: number }> = [
  { task: 'ssa', spacing: [1, 1, 2.5], seed: 1 },
  { task: 'ssa', spacing: [0.9375, 0.9375, 1.5], seed: 2 },
  { task: 'ssa', spacing: [0.5, 0.7, 0.6], seed: 3 },
  { task: 'ped', spacing: [1, 1, 2.5], seed: 4 },
  { task: 'ped', spacing: [0.4688, 0.4688, 3], seed: 5 },
  { task: 'ped', spacing: [1.2, 0.8, 1], seed: 6 },
];

describe.skipIf(!hasScipy)('agreement with the SciPy reference on anisotropic synthetic cases', () => {
  it.each(CASES)('$task, spacing $spacing, seed $seed', ({ task, spacing, seed }) => {
    const shape: Shape3 = [40, 36, 28];
    const labels = task === 'ssa' ? [1, 2, 3] : [1, 2, 3, 4];
    const gt = synthetic(shape, seed * 100, labels);
    const pred = perturb(gt, shape, seed * 100 + 1, labels);
    const gtFile = path.join(tmp, `gt${seed}.raw`);
    const predFile = path.join(tmp, `pred${seed}.raw`);
    writeFileSync(gtFile, gt);
    writeFileSync(predFile, pred);
    const ref = JSON.parse(
      execFileSync(
        PY,
        [REFERENCE, gtFile, predFile, task, '--shape', ...shape.map(String), '--spacing', ...spacing.map(String)],
        {
          encoding: 'utf8',
        },
      ),
    ) as { regions: Record<string, Record<string, number>>; lesions: Array<Record<string, unknown>> };
    const got = evaluateCase({ gt: { data: gt, shape }, pred: { data: pred, shape, spacing }, task });
    let lesionCount = 0;
    for (const [region, fields] of Object.entries(ref.regions)) {
      for (const [field, value] of Object.entries(fields)) {
        const tol = /HD95/.test(field) ? 1e-4 : /Volume/.test(field) ? 1e-9 * Math.max(1, value) : 1e-6;
        const actual = got.regions[region as 'WT']![field as 'Num_TP'];
        expect(Math.abs(actual - value), `${region} ${field}: ${actual} vs ${value}`).toBeLessThanOrEqual(tol);
      }
      lesionCount += fields.Num_TP + fields.Num_FN;
    }
    expect(lesionCount).toBeGreaterThan(0);
    expect(
      got.lesions.map((l) => [l.region, l.gt_lesion_number, l.matched_pred_components, l.counted_in_score]),
    ).toEqual(ref.lesions.map((l) => [l.region, l.gt_lesion_number, l.matched_pred_components, l.counted_in_score]));
    got.lesions.forEach((l, i) => {
      expect(Math.abs(l.dice_lesionwise - (ref.lesions[i].dice_lesionwise as number))).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(l.hd95_lesionwise - (ref.lesions[i].hd95_lesionwise as number))).toBeLessThanOrEqual(1e-4);
    });
  });
});
