/**
 * The command line as a new user meets it: a one-line-per-command help index with topic descriptions of their
 * own, examples in every command's help, suggestions for mistyped commands, one flag vocabulary (old names still
 * work and warn), run folders as models (`-m runs/a`, `--folds`), `predict --json` and `model summary` of a
 * checkpoint.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { readNifti } from '@mednext-ts/io-nifti/node';
import { parseSafetensors } from '@mednext-ts/mednext';
import { beforeAll, describe, expect, it } from 'vitest';
import { closestCommands, editDistance } from '../src/lib/suggest.js';
import { parseFolds } from '../src/lib/inference/model-paths.js';
import { mednext, mednextExit, tempDir } from './cli-helpers.js';
import { writePhantomCase, writeTinyCheckpoint } from './inference-helpers.js';

const tmp = tempDir('mednext-flags-test-');
const DEMO_MODEL = path.resolve(import.meta.dirname, '../../mednext/models/demo/model.safetensors');

/** oclif's error output on one line (it wraps long messages and prefixes each line with '›'). */
function oneLine(stderr: string): string {
  return stderr.replace(/\s*›\s*/g, ' ');
}

/** The lines of one section (`COMMANDS`, `TOPICS`, ...) of oclif's help output. */
function section(help: string, name: string): string[] {
  const lines = help.split('\n');
  const start = lines.indexOf(name);
  expect(start, `${name} section`).toBeGreaterThanOrEqual(0);
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    out.push(line);
  }
  return out;
}

describe('help', () => {
  it('lists one line per command, and every topic has a description of its own', async () => {
    const { stdout } = await mednext(['--help']);
    const commands = section(stdout, 'COMMANDS');
    // Every line starts a command (no wrapped continuation lines) and carries a summary.
    for (const line of commands) expect(line, line).toMatch(/^ {2}[a-z][\w-]* {2,}\S.{9,}$/);
    const names = commands.map((l) => l.trim().split(/\s+/)[0]);
    expect(names).toEqual(expect.arrayContaining(['predict', 'evaluate', 'train', 'tune-postprocess', 'doctor']));
    const topics = Object.fromEntries(
      section(stdout, 'TOPICS').map((l) => {
        const [name, ...rest] = l.trim().split(/\s+/);
        return [name, rest.join(' ')];
      }),
    );
    expect(topics.model).toMatch(/networks and checkpoints/);
    expect(topics.nifti).toMatch(/NIfTI/);
    expect(topics.model).not.toMatch(/ONNX/);
    expect(topics.nifti).not.toMatch(/^Convert/);
  });

  it.each(['predict', 'evaluate', 'model summary', 'tune-postprocess', 'demo'])(
    '%s --help: summary once, a separate description, examples',
    async (command) => {
      const { stdout } = await mednext([...command.split(' '), '--help']);
      const summary = stdout.split('\n')[0]!;
      expect(summary.length).toBeGreaterThan(10);
      expect(stdout.split(summary).length - 1, 'summary printed once').toBe(1);
      expect(section(stdout, 'EXAMPLES').join('\n')).toMatch(/\$ mednext /);
    },
  );
});

describe('mistyped commands', () => {
  it('suggests the closest command and exits with 2', async () => {
    const typo = await mednextExit('predcit', 'x');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/'predcit' is not a mednext command\. Did you mean 'mednext predict'\?/);
    const nested = await mednextExit('model', 'sumary');
    expect(oneLine(nested.stderr)).toMatch(/Did you mean 'mednext model summary'\?/);
    const unrelated = await mednextExit('frobnicate');
    expect(unrelated.code).toBe(2);
    expect(unrelated.stderr).not.toMatch(/Did you mean/);
  });

  it('ranks by edit distance with transpositions', () => {
    expect(editDistance('predcit', 'predict')).toBe(1);
    expect(editDistance('evalute', 'evaluate')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(closestCommands('trian', ['train', 'tasks', 'predict'])).toEqual(['train']);
    expect(closestCommands('xyzzy', ['train', 'tasks'])).toEqual([]);
  });
});

describe('flag vocabulary', () => {
  it('parses --folds lists and ranges, and refuses anything else', () => {
    expect(parseFolds('0,2')).toEqual([0, 2]);
    expect(parseFolds('3 1 1')).toEqual([1, 3]);
    expect(parseFolds('0-4')).toEqual([0, 1, 2, 3, 4]);
    expect(() => parseFolds('a')).toThrow(/--folds: expected fold numbers/);
    expect(() => parseFolds('4-0')).toThrow(/backwards/);
  });

  it('keeps the old names working with a deprecation warning (model summary --patch)', async () => {
    const old = await mednext(['model', 'summary', '--preset', 'S', '--patch', '32x32x32', '--json']);
    expect(old.stderr).toMatch(/"--patch" flag has been deprecated\. Use "--patch-size"/);
    const current = await mednext(['model', 'summary', '--preset', 'S', '--patch-size', '32x32x32', '--json']);
    expect(current.stderr).not.toMatch(/deprecated/);
    expect(JSON.parse(old.stdout)).toEqual(JSON.parse(current.stdout));
    expect(JSON.parse(current.stdout).patch).toEqual([32, 32, 32]);
  });
});

describe('checkpoint file flag of the model commands', () => {
  it('model summary: -m/--model take the checkpoint; the old --weights still works and warns', async () => {
    const current = await mednext(['model', 'summary', '--model', DEMO_MODEL, '--json']);
    expect(current.stderr).not.toMatch(/deprecated/);
    const short = await mednext(['model', 'summary', '-m', DEMO_MODEL, '--json']);
    const old = await mednext(['model', 'summary', '--weights', DEMO_MODEL, '--json']);
    expect(old.stderr).toMatch(/"--weights" flag has been deprecated\. Use "--model/);
    const summary = JSON.parse(current.stdout) as { checkpoint: { task: string } };
    expect(summary.checkpoint.task).toBe('ssa');
    expect(JSON.parse(short.stdout)).toEqual(summary);
    expect(JSON.parse(old.stdout)).toEqual(summary);
  });

  it.each(['model run', 'model export-onnx', 'model summary'])(
    '%s --help shows --model and hides the deprecated --weights',
    async (command) => {
      const { stdout } = await mednext([...command.split(' '), '--help']);
      expect(stdout).toMatch(/-m, --model=<value>/);
      expect(stdout).not.toMatch(/--weights/);
    },
  );

  it('evaluate --help shows --labels and hides the deprecated --gt', async () => {
    const { stdout } = await mednext(['evaluate', '--help']);
    expect(stdout).toMatch(/--labels=<value>/);
    expect(stdout).not.toMatch(/--gt\b/);
  });
});

describe('model summary of a checkpoint', () => {
  it('reads the config and training facts from the metadata; parameters match the stored tensors', async () => {
    const { stdout } = await mednext(['model', 'summary', DEMO_MODEL, '--json']);
    const summary = JSON.parse(stdout) as {
      patch: number[];
      totalParams: number;
      checkpoint: { task: string; regions: string[]; epoch: number };
    };
    expect(summary.patch).toEqual([32, 32, 32]);
    expect(summary.checkpoint.task).toBe('ssa');
    expect(summary.checkpoint.regions).toEqual(['WT', 'TC', 'ET']);
    const file = parseSafetensors(new Uint8Array(await readFile(DEMO_MODEL)));
    let stored = 0;
    for (const t of file.tensors.values()) stored += t.shape.reduce((a, b) => a * b, 1);
    expect(summary.totalParams).toBe(stored);
    // --config with a checkpoint (the natural guess) reads it as one instead of failing as JSON.
    const viaConfig = await mednext(['model', 'summary', '--config', DEMO_MODEL, '--json']);
    expect(JSON.parse(viaConfig.stdout).totalParams).toBe(stored);
    const text = await mednext(['model', 'summary', DEMO_MODEL]);
    expect(text.stdout).toMatch(/task ssa; .*regions WT,TC,ET/);
  });
});

describe('predict with a run folder', () => {
  const run = path.join(tmp, 'runs', 'a');
  let caseDir = '';
  let caseId = '';

  beforeAll(async () => {
    for (const fold of [0, 1, 2]) {
      await mkdir(path.join(run, `fold_${fold}`), { recursive: true });
      await writeTinyCheckpoint(path.join(run, `fold_${fold}`, 'checkpoint_last.safetensors'), 10 + fold);
    }
    await writeTinyCheckpoint(path.join(run, 'fold_1', 'checkpoint_best.safetensors'), 20);
    const c = await writePhantomCase(path.join(tmp, 'data'), 7, [24, 24, 16]);
    caseDir = c.dir;
    caseId = c.id;
  }, 120_000);

  it('takes every fold of -m runs/a, or those of --folds, and prints a JSON summary', async () => {
    const all = await mednext(['predict', caseDir, '-m', run, '--out', path.join(tmp, 'all'), '--json', '-q']);
    const summary = JSON.parse(all.stdout) as {
      models: { file: string; weight: number }[];
      predicted: number;
      cases: { id: string; status: string; segmentation: string; voxels: Record<string, number> }[];
    };
    expect(summary.models.map((m) => path.relative(run, m.file))).toEqual(
      [0, 1, 2].map((f) => path.join(`fold_${f}`, 'checkpoint_last.safetensors')),
    );
    expect(summary.predicted).toBe(1);
    expect(summary.cases).toHaveLength(1);
    const [c] = summary.cases;
    expect(c!.id).toBe(caseId);
    expect(c!.status).toBe('predicted');
    // The voxel counts describe the file that was written.
    const seg = (await readNifti(c!.segmentation)).toCOrder().data;
    const counts: Record<string, number> = {};
    for (const v of seg) if (v !== 0) counts[v] = (counts[v] ?? 0) + 1;
    expect(c!.voxels).toEqual(counts);

    const picked = await mednext([
      'predict',
      caseDir,
      '-m',
      run,
      '--folds',
      '0,2',
      '--checkpoint',
      'last',
      '--out',
      path.join(tmp, 'some'),
      '--json',
      '-q',
    ]);
    expect(JSON.parse(picked.stdout).models.map((m: { file: string }) => path.basename(path.dirname(m.file)))).toEqual([
      'fold_0',
      'fold_2',
    ]);
    const best = await mednext([
      'predict',
      caseDir,
      '-m',
      path.join(run, 'fold_1'),
      '--checkpoint',
      'best',
      '--out',
      path.join(tmp, 'best'),
      '--json',
      '-q',
    ]);
    expect(JSON.parse(best.stdout).models[0].file).toBe(path.join(run, 'fold_1', 'checkpoint_best.safetensors'));
    // A second run skips the case, and says so in the summary.
    const again = JSON.parse(
      (await mednext(['predict', caseDir, '-m', run, '--out', path.join(tmp, 'all'), '--json', '-q'])).stdout,
    );
    expect(again.cases[0].status).toBe('skipped');
    expect(again.skipped).toBe(1);
  }, 180_000);

  it('names the run folder and the folds it has when a fold is missing', async () => {
    const missing = await mednextExit('predict', caseDir, '-m', run, '--folds', '1,3', '--out', path.join(tmp, 'x'));
    expect(missing.code).not.toBe(0);
    expect(oneLine(missing.stderr)).toContain(`${run}: no fold 3 (the run has folds 0, 1, 2)`);
    const noBest = await mednextExit(
      'predict',
      caseDir,
      '-m',
      run,
      '--checkpoint',
      'best',
      '--out',
      path.join(tmp, 'y'),
    );
    expect(oneLine(noBest.stderr)).toMatch(
      /fold_0: no checkpoint_best\.safetensors \(found checkpoint_last\.safetensors/,
    );
    const empty = await mednextExit('predict', caseDir, '-m', path.join(tmp, 'data'), '--out', path.join(tmp, 'z'));
    expect(oneLine(empty.stderr)).toMatch(/neither fold_<n> folders \(a training run\) nor checkpoints/);
  }, 120_000);
});
