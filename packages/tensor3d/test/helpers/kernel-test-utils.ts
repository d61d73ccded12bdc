/** Shared helpers of the WebAssembly kernel tests: seeded data, differences, and the 1- and 2-thread runtimes. */
import { afterAll, beforeAll, expect } from 'vitest';
import { type KernelRuntime, createKernelRuntime, createKernelRuntimeSync } from '../../src/kernels/index.js';

/** `n` values in [-scale, scale) from a xorshift32 stream seeded with `seed` (reproducible across runs). */
export function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (((s >>> 0) / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** Largest absolute difference of two equally long arrays (asserts the lengths match). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A single-threaded and a two-thread runtime for the calling test file, created before its tests. */
export function useKernelRuntimes(): { one: KernelRuntime; two: KernelRuntime } {
  const runtimes = {} as { one: KernelRuntime; two: KernelRuntime };
  beforeAll(async () => {
    runtimes.one = createKernelRuntimeSync();
    const two = await createKernelRuntime({ threads: 2 });
    // a runtime that silently fell back to one thread would make every two-thread test a one-thread test
    expect(two.threads, `two-thread runtime unavailable: ${two.fallbackReason ?? ''}`).toBe(2);
    runtimes.two = two;
  });
  afterAll(async () => {
    await runtimes.two.dispose();
  });
  return runtimes;
}
