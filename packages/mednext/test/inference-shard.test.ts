import { describe, expect, it } from 'vitest';
import { parseShard, resolveShard, selectShard, shardFromEnvironment } from '../src/inference/shard.js';

describe('sharding', () => {
  it('parses I/N and rejects bad values', () => {
    expect(parseShard('2/5')).toMatchObject({ index: 2, count: 5 });
    expect(() => parseShard('5/5')).toThrow(/--shard: shard index 5 is not in 0..4/);
    expect(() => parseShard('1-4')).toThrow(/expected I\/N/);
    expect(() => parseShard('0/0')).toThrow(/not in/);
  });

  it('splits cases into disjoint shards that cover everything, whatever the listing order', () => {
    const cases = Array.from({ length: 11 }, (_, i) => `BraTS-SSA-${String(i).padStart(5, '0')}-000`);
    const shuffled = [...cases].reverse();
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const part = selectShard(i % 2 ? shuffled : cases, parseShard(`${i}/3`));
      expect(part.length).toBe(i === 2 ? 3 : 4);
      seen.push(...part);
    }
    expect(seen.sort()).toEqual(cases);
    expect(selectShard(shuffled, undefined)).toEqual(cases);
    expect(selectShard(cases, parseShard('1/3'))).toEqual([cases[1], cases[4], cases[7], cases[10]]);
  });

  it('reads SLURM and Kubernetes array-job variables, the flag winning', () => {
    expect(shardFromEnvironment({})).toBeUndefined();
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' })).toMatchObject({
      index: 3,
      count: 4,
    });
    // --array=1-4: ids 1..4, min 1
    expect(
      shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '1' }),
    ).toMatchObject({ index: 3, count: 4 });
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '1' })).toThrow(/SLURM_ARRAY_TASK_COUNT/);
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '2', MEDNEXT_SHARD_COUNT: '8' })).toMatchObject({
      index: 2,
      count: 8,
    });
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '2' })).toThrow(/MEDNEXT_SHARD_COUNT/);
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '2' })).toThrow(
      /not a non-negative integer/,
    );
    expect(resolveShard('0/2', { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' })).toMatchObject({
      index: 0,
      count: 2,
      source: '--shard',
    });
    expect(resolveShard(undefined, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' })).toMatchObject({
      index: 1,
      count: 2,
    });
  });
});
