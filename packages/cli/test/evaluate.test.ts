import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { mednextExit, tempDir } from './cli-helpers.js';

const FIXTURES = fileURLToPath(new URL('../../metrics/test/fixtures/brats-metrics/', import.meta.url));
const CASES = ['02_multi_lesion_one_missed', '04_split_lesion', '10_ssa_et_netc_merge'];
const id = (i: number) => `BraTS-SSA-0000${i + 1}-000`;

const tmp = tempDir('cli-evaluate-');
const gtDir = path.join(tmp, 'gt');
const predDir = path.join(tmp, 'pred');
beforeAll(() => {
  // BraTS layout: GT in case folders next to modality images; predictions flat, named by ID.
  CASES.forEach((c, i) => {
    mkdirSync(path.join(gtDir, id(i)), { recursive: true });
    copyFileSync(path.join(FIXTURES, c, 'gt.nii.gz'), path.join(gtDir, id(i), `${id(i)}-seg.nii.gz`));
    copyFileSync(path.join(FIXTURES, c, 'gt.nii.gz'), path.join(gtDir, id(i), `${id(i)}-t1n.nii.gz`));
    mkdirSync(predDir, { recursive: true });
    copyFileSync(path.join(FIXTURES, c, 'pred.nii.gz'), path.join(predDir, `${id(i)}.nii.gz`));
  });
  // A GT case without prediction.
  mkdirSync(path.join(gtDir, 'BraTS-SSA-00099-000'));
  copyFileSync(
    path.join(FIXTURES, CASES[0], 'gt.nii.gz'),
    path.join(gtDir, 'BraTS-SSA-00099-000', 'BraTS-SSA-00099-000-seg.nii.gz'),
  );
});

type Regions = Record<string, Record<string, number>>;

describe('mednext evaluate', () => {
  it('still takes the old --gt (with a deprecation warning) and reports progress with an ETA', async () => {
    const fresh = path.join(tmp, 'labels.json');
    const old = path.join(tmp, 'gt.json');
    const common = ['--task', 'ssa', '--pred', predDir, '--missing', 'skip'];
    const current = await mednextExit('evaluate', '--labels', gtDir, ...common, '--out-json', fresh);
    expect(current.code, current.stderr).toBe(0);
    expect(current.stderr).not.toMatch(/deprecated/);
    // Without a terminal: a line at the first case and one at the end, each with the time taken and left.
    expect(current.stderr).toMatch(/evaluate 1\/3 \(33 %\) \d+ s, ETA \d+ s: BraTS-SSA-00001-000/);
    expect(current.stderr).toMatch(/evaluate 3\/3 \(100 %\) done in \d+ s/);
    const legacy = await mednextExit('evaluate', '--gt', gtDir, ...common, '--out-json', old, '-q');
    expect(legacy.code, legacy.stderr).toBe(0);
    expect(legacy.stderr).toMatch(/"--gt" flag has been deprecated\. Use "--labels"/);
    expect(legacy.stderr).not.toMatch(/evaluate \d+\/3/);
    const cases = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { cases: unknown[] }).cases;
    expect(cases(old)).toHaveLength(3);
    expect(cases(old)).toEqual(cases(fresh));
  });

  it('pairs cases by BraTS ID, reproduces the official numbers in --json, writes the Synapse CSV', async () => {
    const csv = path.join(tmp, 'scores.csv');
    const json = path.join(tmp, 'scores.json');
    const { code, stdout, stderr } = await mednextExit(
      'evaluate',
      '--task',
      'ssa',
      '--labels',
      gtDir,
      '--pred',
      predDir,
      '--out',
      csv,
      '--json',
      json,
      '--missing',
      'skip',
    );
    expect(code).toBe(0);
    expect(stderr).toMatch(/case BraTS-SSA-00099-000: no prediction .*; skipped \(--missing skip/);
    expect(stdout).toMatch(/3 case\(s\), task ssa/);
    expect(stdout).toMatch(/WT\s+LesionWise_Score_Dice/);

    const doc = JSON.parse(readFileSync(json, 'utf8')) as {
      task: string;
      cases: Array<{ id: string; regions: Regions }>;
    };
    expect(doc.task).toBe('ssa');
    expect(doc.cases.map((c) => c.id)).toEqual([id(0), id(1), id(2)]);
    doc.cases.forEach((c, i) => {
      const expected = JSON.parse(readFileSync(path.join(FIXTURES, CASES[i], 'expected.json'), 'utf8')) as {
        results: { SSA: { regions: Regions } };
      };
      for (const [region, fields] of Object.entries(expected.results.SSA.regions)) {
        for (const [field, value] of Object.entries(fields)) {
          expect(Math.abs(c.regions[region][field] - value), `${c.id} ${region} ${field}`).toBeLessThanOrEqual(1e-6);
        }
      }
    });

    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    const header = lines[0].split(',');
    expect(header.slice(0, 4)).toEqual(['scan_id', 'LesionWise_Dice_ET', 'LesionWise_Dice_TC', 'LesionWise_Dice_WT']);
    expect(header).toContain('Hausdorff95_TC');
    expect(header).toContain('Num_FN_WT');
    expect(header).toHaveLength(1 + 9 * 3);
    expect(lines.map((l) => l.split(',')[0])).toEqual([
      'scan_id',
      id(0),
      id(1),
      id(2),
      'mean',
      'std',
      '25quantile',
      'median',
      '75quantile',
    ]);
    // Mean row = mean of the case rows.
    const col = header.indexOf('LesionWise_Dice_TC');
    const values = lines.slice(1, 4).map((l) => Number(l.split(',')[col]));
    expect(Number(lines[4].split(',')[col])).toBeCloseTo(values.reduce((a, b) => a + b) / 3, 12);
  });

  it('fails with a message naming the case for labels outside the task and for shape mismatches', async () => {
    const bad = path.join(tmp, 'bad');
    mkdirSync(bad);
    const raw = gunzipSync(readFileSync(path.join(FIXTURES, CASES[0], 'pred.nii.gz')));
    const voxOffset = raw.readFloatLE(108);
    raw[voxOffset] = 7;
    writeFileSync(path.join(bad, `${id(0)}.nii.gz`), gzipSync(raw));
    copyFileSync(path.join(FIXTURES, '09_full_size_240x240x155', 'pred.nii.gz'), path.join(bad, `${id(1)}.nii.gz`));
    const csv = path.join(tmp, 'failed.csv');
    const json = path.join(tmp, 'failed.json');
    const args = ['evaluate', '--task', 'ssa', '--labels', gtDir, '--pred', bad, '-q', '--out', csv, '--json', json];
    const { code, stderr } = await mednextExit(...args);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /case BraTS-SSA-00001-000: prediction has label 7 at voxel 0, which task ssa does not define/,
    );
    expect(stderr).toMatch(
      /case BraTS-SSA-00002-000: GT shape \[64, 64, 48\] differs from prediction shape \[240, 240, 155\]/,
    );
    // The two cases without prediction are scored as empty; the two broken ones fail.
    expect(stderr).toMatch(/2 of 4 case\(s\) could not be evaluated/);
    // No CSV that looks complete; the JSON says it is not and which cases failed.
    expect(stderr).toMatch(/failed\.csv not written: 2 case\(s\) could not be scored/);
    expect(existsSync(csv)).toBe(false);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as {
      complete: boolean;
      cases: Array<{ id: string }>;
      failed: Array<{ id: string; error: string }>;
    };
    expect(doc.complete).toBe(false);
    expect(doc.failed.map((f) => f.id)).toEqual([id(0), id(1)]);
    expect(doc.cases.map((c) => c.id)).toEqual([id(2), 'BraTS-SSA-00099-000']);
  });

  it('scores a missing prediction as empty by default and says so; --missing error fails and writes nothing', async () => {
    const csv = path.join(tmp, 'with-missing.csv');
    const json = path.join(tmp, 'with-missing.json');
    const args = ['evaluate', '--task', 'ssa', '--labels', gtDir, '--pred', predDir, '--out', csv, '--json', json];
    const { code, stdout, stderr } = await mednextExit(...args);
    expect(code).toBe(0);
    expect(stderr).toMatch(/case BraTS-SSA-00099-000: no prediction .*; scored as an empty prediction/);
    expect(stdout).toMatch(
      /4 case\(s\), task ssa, BraTS-SSA lesion-wise protocol; 1 missing prediction\(s\) scored as empty/,
    );
    const doc = JSON.parse(readFileSync(json, 'utf8')) as {
      complete: boolean;
      cases: Array<{ id: string; pred: string | null; missingPrediction?: string; regions: Regions }>;
    };
    expect(doc.complete).toBe(true);
    const missing = doc.cases.find((c) => c.id === 'BraTS-SSA-00099-000')!;
    expect(missing.pred).toBeNull();
    expect(missing.missingPrediction).toBe('scored as empty');
    // GT 00099 is a copy of case 0's GT, which has tumour: an empty prediction finds none of it.
    expect(missing.regions.WT.Legacy_Dice).toBe(0);
    expect(missing.regions.WT.Num_TP).toBe(0);
    expect(missing.regions.WT.Num_FN).toBeGreaterThan(0);
    expect(missing.regions.WT.LesionWise_Score_Dice).toBe(0);
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows.map((l) => l.split(',')[0]).slice(0, 5)).toEqual([
      'scan_id',
      id(0),
      id(1),
      id(2),
      'BraTS-SSA-00099-000',
    ]);

    const csv2 = path.join(tmp, 'error.csv');
    const strict = await mednextExit(
      'evaluate',
      '--task',
      'ssa',
      '--labels',
      gtDir,
      '--pred',
      predDir,
      '--out',
      csv2,
      '--missing',
      'error',
    );
    expect(strict.code).toBe(1);
    // oclif wraps the error message: compare with the line breaks and margins removed.
    expect(strict.stderr.replace(/\s*\n ›\s*/g, ' ')).toMatch(
      /1 case\(s\) have no prediction in .*: BraTS-SSA-00099-000/,
    );
    expect(existsSync(csv2)).toBe(false);
  });

  it('evaluates a single pair of files and rejects a missing path', async () => {
    const c = path.join(FIXTURES, '08_ped_labels_with_cc');
    const ok = await mednextExit(
      'evaluate',
      '--task',
      'ped',
      '--labels',
      path.join(c, 'gt.nii.gz'),
      '--pred',
      path.join(c, 'pred.nii.gz'),
      '-q',
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/1 case\(s\), task ped/);
    expect(ok.stdout).toMatch(/ED\s+Num_FN/);
    const missing = await mednextExit('evaluate', '--task', 'ped', '--labels', path.join(tmp, 'nope'), '--pred', c);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/--labels .*nope: no such file or folder/);
  });

  it('--corrected changes the quirky values (fixture 03: exact tumour numbered 2 gets sensitivity 0 officially)', async () => {
    const c = path.join(FIXTURES, '03_small_false_positives');
    const args = [
      'evaluate',
      '--task',
      'ssa',
      '--labels',
      path.join(c, 'gt.nii.gz'),
      '--pred',
      path.join(c, 'pred.nii.gz'),
      '-q',
    ];
    const official = path.join(tmp, 'official.json');
    const corrected = path.join(tmp, 'corrected.json');
    expect((await mednextExit(...args, '--json', official)).code).toBe(0);
    const r = await mednextExit(...args, '--json', corrected, '--corrected');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/corrected, not the official numbers/);
    const wt = (f: string) =>
      (JSON.parse(readFileSync(f, 'utf8')) as { cases: Array<{ regions: Regions }> }).cases[0].regions.WT;
    expect(wt(official).Sensitivity).toBe(0);
    expect(wt(corrected).Sensitivity).toBeCloseTo(1, 12);
  });
});
