/**
 * The cluster examples (examples/slurm, examples/kubernetes) run as the engines would run them: every array task
 * or Job index, with the environment variables SLURM and Kubernetes set, against a small synthetic dataset and
 * the shipped demo model. Together the tasks must predict every case exactly once and train every fold once;
 * a requeued task must redo nothing.
 */
import { chmod, copyFile, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, sh, tempDir } from './helpers.js';

const EXAMPLES = path.join(REPO_ROOT, 'examples');
const CLI = path.join(REPO_ROOT, 'packages', 'cli', 'bin', 'run.js');
const DEMO_MODEL = path.join(REPO_ROOT, 'packages', 'mednext', 'models', 'demo', 'model.safetensors');
const CASES = 5;
const TINY_TRAINING =
  '--num-folds 5 --epochs 1 --iterations 1 --patch-size 16x16x16 --batch-size 1 --width 2 --blocks 1 --backend wasm --sampling-workers 0';

/** Task ids of an `#SBATCH --array=` spec: `0-7`, `1,3,5`, `0-15%4` (the `%` limit only throttles). */
export function arrayTaskIds(spec: string): number[] {
  const ids: number[] = [];
  for (const part of spec.replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) throw new Error(`unsupported --array spec '${spec}'`);
    const [from, to, step] = [Number(m[1]), Number(m[2] ?? m[1]), Number(m[3] ?? 1)];
    for (let id = from; id <= to; id += step) ids.push(id);
  }
  return ids;
}

/** The value of `#SBATCH --<name>=...` in a batch script. */
function sbatchOption(script: string, name: string): string {
  const m = new RegExp(`^#SBATCH --${name}=(\\S+)`, 'm').exec(script);
  if (!m) throw new Error(`no #SBATCH --${name} in the script`);
  return m[1]!;
}

/** Runs `jobs` at most `limit` at a time (a cluster runs them all at once; two cores here). */
async function inParallel<T>(jobs: (() => Promise<T>)[], limit = 2): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < jobs.length) {
        const k = next++;
        results[k] = await jobs[k]!();
      }
    }),
  );
  return results;
}

/** What SLURM exports to task `id` of an array job with ids `ids`. */
function slurmEnvironment(ids: number[], id: number, script: string): Record<string, string> {
  return {
    SLURM_JOB_ID: String(1000 + id),
    SLURM_ARRAY_JOB_ID: '999',
    SLURM_ARRAY_TASK_ID: String(id),
    SLURM_ARRAY_TASK_COUNT: String(ids.length),
    SLURM_ARRAY_TASK_MIN: String(Math.min(...ids)),
    SLURM_ARRAY_TASK_MAX: String(Math.max(...ids)),
    SLURM_ARRAY_TASK_STEP: '1',
    SLURM_CPUS_PER_TASK: sbatchOption(script, 'cpus-per-task'),
    SLURM_SUBMIT_DIR: REPO_ROOT,
  };
}

interface IndexedJob {
  completions: number;
  script: string;
  env: Record<string, string>;
}

/** The parts of an Indexed Job manifest the pods run: completions, the shell script, the container env. */
async function indexedJob(file: string): Promise<IndexedJob> {
  const job = parse(await readFile(file, 'utf8')) as {
    kind: string;
    spec: {
      completionMode: string;
      completions: number;
      parallelism: number;
      template: {
        spec: { containers: { command: string[]; args: string[]; env: { name: string; value: string }[] }[] };
      };
    };
  };
  expect(job.kind).toBe('Job');
  expect(job.spec.completionMode).toBe('Indexed');
  const [container] = job.spec.template.spec.containers;
  expect(container!.command).toEqual(['/bin/sh', '-c']);
  return {
    completions: job.spec.completions,
    script: container!.args[0]!,
    env: Object.fromEntries(container!.env.map((e) => [e.name, String(e.value)])),
  };
}

/** Sums the `done: N predicted, M skipped` lines of predict runs. */
function predictedAndSkipped(stderrs: string[]): { predicted: number; skipped: number } {
  let predicted = 0;
  let skipped = 0;
  for (const text of stderrs) {
    const m = /done: (\d+) predicted, (\d+) skipped/.exec(text);
    expect(m, text).not.toBeNull();
    predicted += Number(m![1]);
    skipped += Number(m![2]);
  }
  return { predicted, skipped };
}

describe('cluster examples', () => {
  const tmp = tempDir('mednext-scale-out-');
  const bin = path.join(tmp, 'bin');
  const cases = path.join(tmp, 'cases');
  const model = path.join(tmp, 'runs', 'demo');
  const cache = path.join(tmp, 'cache');
  let ids: string[] = [];
  /** PATH with a `mednext` that runs this repository's build, as `npm install -g` would provide. */
  let pathWithMednext = '';

  beforeAll(async () => {
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(bin, 'mednext'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    await chmod(path.join(bin, 'mednext'), 0o755);
    pathWithMednext = `${bin}:${process.env.PATH}`;
    const env = { PATH: pathWithMednext };
    await sh('mednext', ['demo', 'phantoms', '--count', String(CASES), '--shape', '24x24x16', '--out', cases, '-q'], {
      env,
    });
    ids = (await readdir(cases)).sort();
    // A two-fold "run" of the shipped demo model, so -m takes a run folder as in the examples.
    for (const fold of [0, 1]) {
      await mkdir(path.join(model, `fold_${fold}`), { recursive: true });
      await copyFile(DEMO_MODEL, path.join(model, `fold_${fold}`, 'checkpoint_last.safetensors'));
    }
    await sh('mednext', ['preprocess', '--task', 'ssa', '--root', `${cases}:glioma`, '--out', cache, '-q'], { env });
  }, 180_000);

  async function segmentations(out: string): Promise<string[]> {
    return (await readdir(out)).filter((f) => f.endsWith('.nii.gz')).sort();
  }

  it('SLURM predict array: the tasks share the cases, each case once; a requeued task redoes nothing', async () => {
    const file = path.join(EXAMPLES, 'slurm', 'predict.sbatch');
    const script = await readFile(file, 'utf8');
    const taskIds = arrayTaskIds(sbatchOption(script, 'array'));
    expect(taskIds.length).toBeGreaterThan(1);
    const out = path.join(tmp, 'slurm-preds');
    const run = (id: number) =>
      sh('bash', [file], {
        cwd: tmp,
        env: { ...slurmEnvironment(taskIds, id, script), PATH: pathWithMednext, CASES: cases, MODEL: model, OUT: out },
      });
    const results = await inParallel(taskIds.map((id) => () => run(id)));
    results.forEach((r, k) =>
      expect(r.stderr).toMatch(
        new RegExp(`in shard ${k}/${taskIds.length} \\(from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT\\) of ${CASES}`),
      ),
    );
    expect(predictedAndSkipped(results.map((r) => r.stderr))).toEqual({ predicted: CASES, skipped: 0 });
    expect(await segmentations(out)).toEqual(ids.map((id) => `${id}.nii.gz`));
    const requeued = await run(taskIds[0]!);
    expect(predictedAndSkipped([requeued.stderr]).predicted).toBe(0);
  }, 300_000);

  it('Kubernetes predict Job: every completion index takes its share; MEDNEXT_SHARD_COUNT equals completions', async () => {
    const job = await indexedJob(path.join(EXAMPLES, 'kubernetes', 'predict-job.yaml'));
    expect(job.env.MEDNEXT_SHARD_COUNT).toBe(String(job.completions));
    const out = path.join(tmp, 'k8s-preds');
    const results = await inParallel(
      Array.from(
        { length: job.completions },
        (_, index) => () =>
          sh('/bin/sh', ['-c', job.script], {
            cwd: tmp,
            env: {
              ...job.env,
              JOB_COMPLETION_INDEX: String(index),
              PATH: pathWithMednext,
              CASES: cases,
              MODEL: model,
              OUT: out,
            },
          }),
      ),
    );
    results.forEach((r, k) =>
      expect(r.stderr).toMatch(
        new RegExp(`in shard ${k}/${job.completions} \\(from JOB_COMPLETION_INDEX/MEDNEXT_SHARD_COUNT\\) of ${CASES}`),
      ),
    );
    expect(predictedAndSkipped(results.map((r) => r.stderr))).toEqual({ predicted: CASES, skipped: 0 });
    expect(await segmentations(out)).toEqual(ids.map((id) => `${id}.nii.gz`));
  }, 300_000);

  /** Checks a trained run: one split, every fold trained by the task with its index. */
  async function expectTrainedRun(runDir: string, folds: number, stdouts: string[]): Promise<void> {
    const splits = JSON.parse(await readFile(path.join(runDir, 'splits.json'), 'utf8')) as { folds: unknown[] };
    expect(splits.folds).toHaveLength(folds);
    for (let fold = 0; fold < folds; fold++) {
      expect(stdouts[fold]).toContain(`fold_${fold}: best mean Dice`);
      expect((await readdir(path.join(runDir, `fold_${fold}`))).sort()).toContain('checkpoint_last.safetensors');
    }
  }

  it('SLURM train array: task k trains fold k in one run folder; a requeued task skips its finished fold', async () => {
    const file = path.join(EXAMPLES, 'slurm', 'train.sbatch');
    const script = await readFile(file, 'utf8');
    const taskIds = arrayTaskIds(sbatchOption(script, 'array'));
    const runDir = path.join(tmp, 'slurm-run');
    const run = (id: number) =>
      sh('bash', [file], {
        cwd: tmp,
        env: {
          ...slurmEnvironment(taskIds, id, script),
          PATH: pathWithMednext,
          CACHE: cache,
          RUN: runDir,
          TRAIN_ARGS: TINY_TRAINING,
        },
      });
    const results = await inParallel(taskIds.map((id) => () => run(id)));
    await expectTrainedRun(
      runDir,
      taskIds.length,
      results.map((r) => r.stdout),
    );
    const checkpoint = path.join(runDir, 'fold_2', 'checkpoint_last.safetensors');
    const before = await stat(checkpoint);
    const requeued = await run(2);
    expect(requeued.stderr).toMatch(/resuming .*fold_2 after epoch 0/);
    expect((await stat(checkpoint)).mtimeMs).toBe(before.mtimeMs);
  }, 300_000);

  it('Kubernetes train Job: completion index k trains fold k', async () => {
    const job = await indexedJob(path.join(EXAMPLES, 'kubernetes', 'train-job.yaml'));
    const runDir = path.join(tmp, 'k8s-run');
    const results = await inParallel(
      Array.from(
        { length: job.completions },
        (_, index) => () =>
          sh('/bin/sh', ['-c', job.script], {
            cwd: tmp,
            env: {
              ...job.env,
              JOB_COMPLETION_INDEX: String(index),
              PATH: pathWithMednext,
              CACHE: cache,
              RUN: runDir,
              TRAIN_ARGS: TINY_TRAINING,
            },
          }),
      ),
    );
    await expectTrainedRun(
      runDir,
      job.completions,
      results.map((r) => r.stdout),
    );
  }, 300_000);

  it('reads SLURM array specs', () => {
    expect(arrayTaskIds('0-3')).toEqual([0, 1, 2, 3]);
    expect(arrayTaskIds('1,4-5%2')).toEqual([1, 4, 5]);
    expect(arrayTaskIds('0-6:3')).toEqual([0, 3, 6]);
    expect(() => arrayTaskIds('a')).toThrow(/unsupported/);
  });
});
