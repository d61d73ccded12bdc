/**
 * The seed paper's checkpoints through the command line: `predict` on a Lightning `.ckpt`, `model import`
 * then `predict`, per-region ensemble weights, `--postprocess` presets and files, the PED label mapping.
 * References: outputs of the seed code itself (packages/mednext/test/fixtures/seed-paper/README.md).
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { readNifti } from '@mednext-ts/io-nifti/node';
import { parseNpy, parseSafetensors, serializeNpy } from '@mednext-ts/mednext';
import { readProbabilities } from '@mednext-ts/mednext/node';
import { describe, expect, it } from 'vitest';
import { mednext, mednextExit, tempDir } from './cli-helpers.js';

const FX = fileURLToPath(new URL('../../mednext/test/fixtures/seed-paper/', import.meta.url));
const CASE = 'BraTS-SSA-99017-000';
const CASE_DIR = path.join(FX, CASE);
const B3 = path.join(FX, 'model-b3.ckpt');
const S5 = path.join(FX, 'model-s5.ckpt');
const manifest = JSON.parse(readFileSync(path.join(FX, 'manifest.json'), 'utf8')) as {
  index: Array<[string, string]>;
  sets: Record<string, unknown[]>;
  near_threshold_voxels: Record<string, number>;
  meta: number[][];
};
const npy = (f: string) => {
  const raw = readFileSync(path.join(FX, f));
  return parseNpy(f.endsWith('.gz') ? gunzipSync(raw) : raw, f);
};
const seedLabels = npy('labels.npy.gz');
const n = seedLabels.data.length / manifest.index.length;

/** The seed's label map for (probability map, parameter set) and how many voxels may differ (near a threshold). */
function reference(prob: string, set: string): { labels: Float32Array; allowed: number } {
  const k = manifest.index.findIndex(([p, s]) => p === prob && s === set);
  expect(k).toBeGreaterThanOrEqual(0);
  return {
    labels: seedLabels.data.subarray(k * n, (k + 1) * n),
    allowed: manifest.near_threshold_voxels[`${prob}/${set}`]!,
  };
}

async function predictedLabels(out: string): Promise<Uint8Array> {
  const seg = await readNifti(path.join(out, `${CASE}.nii.gz`));
  const t2f = await readNifti(path.join(CASE_DIR, `${CASE}-t2f.nii.gz`));
  expect(seg.shape).toEqual(manifest.meta[2]);
  expect(seg.datatype.name).toBe('uint8'); // the seed writes t2f's on-disk type (int16 here); values are the same
  expect(seg.affine).toEqual(t2f.affine);
  return seg.toCOrder().data as Uint8Array;
}

function mismatches(ours: ArrayLike<number>, theirs: ArrayLike<number>, map: (v: number) => number = (v) => v): number {
  let d = 0;
  for (let i = 0; i < ours.length; i++) if (ours[i] !== map(theirs[i]!)) d++;
  return d;
}

/** oclif wraps long error lines and prefixes them with ' › '. */
const flat = (text: string): string => text.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ');

const tmp = tempDir('mednext-seed-paper-');
const common = ['--patch-size', '32x32x32', '--quiet', '--backend', 'cpu'];

describe('seed-paper checkpoints on the command line', () => {
  it('refuses a .ckpt without --task and says which tasks fit', async () => {
    const r = await mednextExit('predict', CASE_DIR, '-m', B3, '--out', path.join(tmp, 'none'));
    expect(r.code).not.toBe(0);
    expect(flat(r.stderr)).toMatch(
      /model-b3\.ckpt is a PyTorch checkpoint, which records no task; pass --task \(ssa-paper or ped-paper/,
    );
  });

  it('predicts from the Lightning .ckpt directly as the seed code does (submission preset, probabilities within 1e-4)', async () => {
    const out = path.join(tmp, 'direct');
    await mednext([
      'predict',
      CASE_DIR,
      '-m',
      B3,
      '--task',
      'ssa-paper',
      '--postprocess',
      'submission',
      '--out',
      out,
      '--save-probabilities',
      'float32',
      ...common,
    ]);
    const ref = reference('b3_tta0', 'submission');
    expect(mismatches(await predictedLabels(out), ref.labels)).toBeLessThanOrEqual(ref.allowed);
    const { probabilities, sidecar } = await readProbabilities(path.join(out, `${CASE}_probabilities.nii.gz`));
    expect(sidecar.regions).toEqual(['TC', 'WT', 'ET']);
    const seed = npy('prob_b3_tta0.npy.gz');
    const [start, end, shape] = manifest.meta as [number[], number[], number[]];
    const [cx, cy, cz] = [end[0]! - start[0]!, end[1]! - start[1]!, end[2]! - start[2]!];
    const full = shape[0]! * shape[1]! * shape[2]!;
    let maxDiff = 0;
    for (let c = 0; c < 3; c++)
      for (let x = 0; x < cx; x++)
        for (let y = 0; y < cy; y++)
          for (let z = 0; z < cz; z++) {
            const ours =
              probabilities.data[c * full + ((x + start[0]!) * shape[1]! + y + start[1]!) * shape[2]! + z + start[2]!]!;
            maxDiff = Math.max(maxDiff, Math.abs(ours - seed.data[((c * cx + x) * cy + y) * cz + z]!));
          }
    expect(maxDiff).toBeLessThan(1e-4);
  }, 120_000);

  it("re-postprocesses saved probabilities with the seed's rule in mednext ensemble", async () => {
    const out = path.join(tmp, 'ensemble-from-probs');
    await mednext(['ensemble', path.join(tmp, 'direct'), '--postprocess', 'submission', '--out', out, '--quiet']);
    const ref = reference('b3_tta0', 'submission');
    expect(mismatches(await predictedLabels(out), ref.labels)).toBeLessThanOrEqual(ref.allowed);
    const tune = await mednextExit(
      'tune-postprocess',
      path.join(tmp, 'direct'),
      '--labels',
      out,
      '--out',
      path.join(tmp, 'pp.json'),
    );
    expect(flat(tune.stderr)).toMatch(
      /uses the seed-paper pipeline, whose component rule tune-postprocess does not search/,
    );
  }, 120_000);

  it('imports the .ckpt into a safetensors checkpoint that needs no flags, and predicts with TTA like the seed', async () => {
    const imported = path.join(tmp, 'b3.safetensors');
    const { stdout } = await mednext([
      'model',
      'import',
      B3,
      '--task',
      'ssa-paper',
      '--patch-size',
      '32x32x32',
      '--out',
      imported,
    ]);
    expect(stdout).toMatch(/width 2, 4 in, 3 out, deep supervision/);
    const meta = parseSafetensors(readFileSync(imported), imported).metadata;
    // One writer for every checkpoint: JSON values and the format version (older plain-string files still load).
    expect(meta).toMatchObject({
      format: '"mednext-ts/checkpoint@1"',
      task: '"ssa-paper"',
      pipeline: '"seed-paper"',
      patch_size: '[32,32,32]',
      modalities: '["t2f","t1n","t1c","t2w"]',
      regions: '["TC","WT","ET"]',
    });
    expect(JSON.parse(meta.source!)).toMatchObject({ file: 'model-b3.ckpt', prefix: 'model.', head_layout: 'conv' });
    const out = path.join(tmp, 'imported-tta');
    await mednext(['predict', CASE_DIR, '-m', imported, '--tta', '--out', out, '--quiet', '--backend', 'cpu']);
    const ref = reference('b3_tta1', 'ssa-paper'); // the variant's default: the paper's SSA thresholds
    expect(mismatches(await predictedLabels(out), ref.labels)).toBeLessThanOrEqual(ref.allowed);
  }, 240_000);

  it('ensembles with per-region weights and applies a --postprocess file with all four settings', async () => {
    const file = path.join(tmp, 'stress.json');
    const [[tc, wt, et], E, T, W] = manifest.sets.stress as [number[], number[], number[], number[]];
    const region = (t: number, f: number[]) => ({
      threshold: t,
      minSize: f[0],
      minMeanProbability: f[1],
      maxComponents: f[2],
    });
    await writeFile(
      file,
      JSON.stringify({ task: 'ssa-paper', regions: { TC: region(tc!, T), WT: region(wt!, W), ET: region(et!, E) } }),
    );
    const out = path.join(tmp, 'ensemble');
    await mednext([
      'predict',
      CASE_DIR,
      '-m',
      B3,
      '-m',
      S5,
      '--task',
      'ssa-paper',
      '--weights',
      '1/0/0.5,1/1/1',
      '--postprocess',
      file,
      '--out',
      out,
      ...common,
    ]);
    const ref = reference('ens', 'stress');
    expect(mismatches(await predictedLabels(out), ref.labels)).toBeLessThanOrEqual(ref.allowed);
  }, 120_000);

  it('uses the paper PED settings for ped-paper and rewrites labels with --label-mapping adult-to-ped', async () => {
    const out = path.join(tmp, 'ped');
    await mednext([
      'predict',
      CASE_DIR,
      '-m',
      B3,
      '--task',
      'ped-paper',
      '--label-mapping',
      'adult-to-ped',
      '--out',
      out,
      ...common,
    ]);
    const ref = reference('b3_tta0', 'ped-paper');
    const adultToPed = (v: number) => [0, 2, 4, 1][v]!;
    expect(mismatches(await predictedLabels(out), ref.labels, adultToPed)).toBeLessThanOrEqual(ref.allowed);
    const bad = await mednextExit(
      'predict',
      CASE_DIR,
      '-m',
      B3,
      '--task',
      'ped-paper',
      '--label-mapping',
      'nope',
      '--out',
      out,
      ...common,
    );
    expect(flat(bad.stderr)).toMatch(/no mapping 'nope' \(known: seed, adult-to-ped\)/);
  }, 120_000);

  it('summarises and runs the network of a .ckpt without a config', async () => {
    const { stdout } = await mednext(['model', 'summary', '--model', B3, '--patch', '32x32x32']);
    expect(stdout).toMatch(/model-b3\.ckpt: MedNeXt \(non-standard\) k3 \(width 2/);
    expect(stdout).toMatch(/parameters: 50,358/);
    const input = path.join(tmp, 'window.npy');
    await writeFile(input, serializeNpy(new Float32Array(4 * 32 * 32 * 16).fill(0.5), [1, 4, 32, 32, 16]));
    const run = await mednext([
      'model',
      'run',
      '--model',
      B3,
      '--input',
      input,
      '--out',
      path.join(tmp, 'run'),
      '--backend',
      'cpu',
    ]);
    expect(run.stdout).toMatch(/output_main\.npy {2}1x3x32x32x16/);
    expect(run.stdout).toMatch(/output_ds4\.npy {2}1x3x2x2x1/);
  }, 60_000);
});
