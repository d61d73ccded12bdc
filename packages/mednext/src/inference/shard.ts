/**
 * Splitting a list of cases between machines (`--shard I/N`, SLURM array jobs, Kubernetes indexed jobs).
 */
import { MedNeXtError } from '../errors.js';

/** Shard `index` (0-based) of `count`: the cases at positions `index, index + count, ...`. */
export interface Shard {
  index: number;
  count: number;
  /** Where it came from, for messages (`--shard`, `SLURM_ARRAY_TASK_ID`, ...). */
  source: string;
}

/** Parses `I/N` (0 <= I < N); `what` names the argument in the error. */
export function parseShard(text: string, what = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new MedNeXtError('SHARD_INVALID', `${what}: expected I/N with 0 <= I < N (e.g. 0/4), got '${text}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count)
    throw new MedNeXtError('SHARD_INVALID', `${what}: shard index ${index} is not in 0..${count - 1}`);
  return { index, count, source: what };
}

/**
 * The shard implied by the environment of a cluster array job, or `undefined`:
 * SLURM (`SLURM_ARRAY_TASK_ID` with `SLURM_ARRAY_TASK_COUNT`, offset by `SLURM_ARRAY_TASK_MIN`
 * so arrays like `--array=1-8` work) or a Kubernetes indexed Job (`JOB_COMPLETION_INDEX`, with the
 * count from `MEDNEXT_SHARD_COUNT`, since Kubernetes does not export the completion count).
 */
export function shardFromEnvironment(env: Record<string, string | undefined>): Shard | undefined {
  const int = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v.trim()))
      throw new MedNeXtError('SHARD_INVALID', `environment variable ${name}='${v}' is not a non-negative integer`);
    return Number(v);
  };
  const slurmId = int('SLURM_ARRAY_TASK_ID');
  if (slurmId !== undefined) {
    const count = int('SLURM_ARRAY_TASK_COUNT');
    if (count === undefined)
      throw new MedNeXtError('SHARD_INVALID', 'SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not');
    const index = slurmId - (int('SLURM_ARRAY_TASK_MIN') ?? 0);
    return parseShard(`${index}/${count}`, 'SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT');
  }
  const k8s = int('JOB_COMPLETION_INDEX');
  if (k8s !== undefined) {
    const count = int('MEDNEXT_SHARD_COUNT');
    if (count === undefined)
      throw new MedNeXtError(
        'SHARD_INVALID',
        "JOB_COMPLETION_INDEX is set; also set MEDNEXT_SHARD_COUNT to the Job's completions",
      );
    return parseShard(`${k8s}/${count}`, 'JOB_COMPLETION_INDEX/MEDNEXT_SHARD_COUNT');
  }
  return undefined;
}

/** An explicit `--shard` wins over the environment; no shard means everything. */
export function resolveShard(flag: string | undefined, env: Record<string, string | undefined>): Shard | undefined {
  return flag !== undefined ? parseShard(flag) : shardFromEnvironment(env);
}

/**
 * The items of one shard. Items are sorted first (by `key`) so that every machine, whatever
 * order its file system lists them in, agrees on the partition: the shards are disjoint and
 * together cover every item exactly once.
 */
export function selectShard<T>(items: readonly T[], shard: Shard | undefined, key: (item: T) => string = String): T[] {
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  if (!shard) return sorted;
  return sorted.filter((_, i) => i % shard.count === shard.index);
}
