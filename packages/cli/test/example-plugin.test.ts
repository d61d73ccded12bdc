/**
 * The example third-party plugin in plugins/examples/liver, used as a new author would: linked
 * with `mednext plugins link`, then its whole pipeline on phantoms of its own labels — preprocess
 * (CT window, nnU-Net file names), a tiny training run, predict, evaluate with the task's own
 * protocol, tune-postprocess.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSafetensors, readCheckpointMetadata } from '@mednext-ts/mednext';
import { describe, expect, it } from 'vitest';
import { mednext, tempDir } from './cli-helpers.js';

const PLUGIN = fileURLToPath(new URL('../../../plugins/examples/liver', import.meta.url));
const tmp = tempDir('mednext-example-plugin-');
// oclif keeps linked plugins under XDG_DATA_HOME; a temporary one keeps the user's setup untouched.
const env = {
  XDG_DATA_HOME: path.join(tmp, 'xdg-data'),
  XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'),
  XDG_CACHE_HOME: path.join(tmp, 'xdg-cache'),
};
const run = (...args: string[]) => mednext(args, env);

interface EvaluateJson {
  task: string;
  protocol: string;
  cases: { id: string; regions: Record<string, Record<string, number>> }[];
  failed: string[];
}

describe('example plugin mednext-plugin-liver, end to end', () => {
  it('links, and its task runs phantoms -> preprocess -> train -> predict -> evaluate -> tune-postprocess', async () => {
    const link = await run('plugins', 'link', PLUGIN, '--no-install');
    expect(link.stderr).not.toMatch(/transpile/i);
    const listed = await run('tasks');
    expect(listed.stdout).toMatch(/^liver {2}Liver and liver tumour on CT \(example plugin\)$/m);
    expect(listed.stdout).toMatch(/from {5}mednext-plugin-liver/);
    // Built plugins run from their compiled output: no auto-transpile warnings, on its own command or any other.
    expect(listed.stderr).toBe('');
    const own = await run('liver', 'info');
    expect(own.stdout).toMatch(/^region TUMOUR = labels 2$/m);
    expect(own.stderr).toBe('');

    const data = path.join(tmp, 'data');
    await run(
      'demo',
      'phantoms',
      '--task',
      'liver',
      '--count',
      '4',
      '--shape',
      '32',
      '--spacing',
      '1.5',
      '--out',
      data,
      '-q',
    );
    const cases = (await readdir(data)).sort();
    expect(cases).toEqual(['liver_1000', 'liver_1001', 'liver_1002', 'liver_1003']);
    // nnU-Net naming, as the task declares.
    expect((await readdir(path.join(data, 'liver_1000'))).sort()).toEqual([
      'liver_1000.nii.gz',
      'liver_1000_0000.nii.gz',
    ]);

    const cache = path.join(tmp, 'cache');
    const pre = await run('preprocess', '--task', 'liver', '--root', data, '--out', cache, '-j', '0', '-q');
    expect(pre.stdout).toMatch(/4 case\(s\): 4 preprocessed/);
    const meta = JSON.parse(await readFile(path.join(cache, 'liver_1000.json'), 'utf8'));
    expect(meta.normalization.method).toBe('per-modality');
    expect(meta.normalization.stats[0].method).toEqual({ method: 'ct', window: [-100, 400] });
    expect(meta.labels).toEqual([1, 2]);

    const runDir = path.join(tmp, 'run');
    // A tiny network and two iterations: this checks the plumbing, not the accuracy.
    const train = await run(
      'train',
      '--data',
      cache,
      '--out',
      runDir,
      '--fold',
      '0',
      '--folds',
      '2',
      '--epochs',
      '1',
      '--width',
      '2',
      '--blocks',
      '1',
      '--patch-size',
      '16x16x16',
      '--batch-size',
      '1',
      '--iterations',
      '2',
      '--backend',
      'wasm',
      '-q',
    );
    expect(train.stdout).toMatch(/fold_0: best mean Dice/);
    const checkpoint = path.join(runDir, 'fold_0', 'checkpoint_last.safetensors');
    const { info } = readCheckpointMetadata(
      parseSafetensors(await readFile(checkpoint), checkpoint).metadata ?? {},
      checkpoint,
    );
    expect(info.task).toBe('liver');
    expect(info.normalization).toEqual([{ method: 'ct', window: [-100, 400] }]);
    expect(info.regions.map((r) => r.name)).toEqual(['LIVER', 'TUMOUR']);

    const preds = path.join(tmp, 'preds');
    await run(
      'predict',
      data,
      '-m',
      checkpoint,
      '--out',
      preds,
      '--save-probabilities',
      'float32',
      '--backend',
      'wasm',
      '-q',
    );
    expect((await readdir(preds)).filter((f) => f.endsWith('.nii.gz')).sort()).toEqual(
      cases.flatMap((id) => [`${id}.nii.gz`, `${id}_probabilities.nii.gz`]),
    );

    // The task's own protocol: regions LIVER and TUMOUR, not the BraTS ones.
    const metricsFile = path.join(tmp, 'metrics.json');
    const evaluated = await run(
      'evaluate',
      '--task',
      'liver',
      '--labels',
      data,
      '--pred',
      preds,
      '--json',
      metricsFile,
      '-q',
    );
    expect(evaluated.stdout).toMatch(/4 case\(s\), task liver, liver lesion-wise protocol/);
    // The probability maps next to the predictions are not taken for label maps.
    expect(evaluated.stderr).not.toMatch(/probabilities/);
    const doc = JSON.parse(await readFile(metricsFile, 'utf8')) as EvaluateJson;
    expect([doc.task, doc.protocol, doc.failed]).toEqual(['liver', 'liver', []]);
    expect(doc.cases.map((c) => c.id)).toEqual(cases);
    for (const c of doc.cases) {
      expect(Object.keys(c.regions)).toEqual(['LIVER', 'TUMOUR']);
      for (const r of Object.values(c.regions)) {
        expect(r.LesionWise_Score_Dice).toBeGreaterThanOrEqual(0);
        expect(r.LesionWise_Score_Dice).toBeLessThanOrEqual(1);
        expect(Number.isFinite(r.LesionWise_Score_HD95)).toBe(true);
      }
    }
    // Ground truth against itself: every lesion found, Dice 1, HD95 0 (one lesion per region in a phantom).
    const truth = path.join(data, 'liver_1001', 'liver_1001.nii.gz');
    const selfFile = path.join(tmp, 'self.json');
    await run('evaluate', '--task', 'liver', '--labels', truth, '--pred', truth, '--json', selfFile, '-q');
    const self = JSON.parse(await readFile(selfFile, 'utf8')) as EvaluateJson;
    for (const region of ['LIVER', 'TUMOUR']) {
      const m = self.cases[0]!.regions[region]!;
      expect([m.LesionWise_Score_Dice, m.LesionWise_Score_HD95, m.Num_TP, m.Num_FP, m.Num_FN]).toEqual([1, 0, 1, 0, 0]);
    }

    const ppFile = path.join(tmp, 'postprocess.json');
    const tuned = await run(
      'tune-postprocess',
      preds,
      '--labels',
      data,
      '--out',
      ppFile,
      '--thresholds',
      '0.3,0.5',
      '--min-sizes',
      '0,10',
    );
    expect(tuned.stderr).toMatch(/4 case\(s\), task liver \(liver lesion-wise metrics over LIVER, TUMOUR\)/);
    const pp = JSON.parse(await readFile(ppFile, 'utf8'));
    expect(pp.task).toBe('liver');
    expect(Object.keys(pp.regions)).toEqual(['LIVER', 'TUMOUR']);
    // Each region gets a grid value, or keeps the task's default (LIVER min size 100) when nothing beats it.
    expect([0.3, 0.5]).toContain(pp.regions.LIVER.threshold);
    expect([0, 10, 100]).toContain(pp.regions.LIVER.minSize);
    expect([0.3, 0.5]).toContain(pp.regions.TUMOUR.threshold);
    expect([0, 10]).toContain(pp.regions.TUMOUR.minSize);
  }, 240_000);
});
