/**
 * The WebAssembly SIMD kernels of @mednext-ts/tensor3d with worker threads in a cross-origin-isolated page:
 * a 2-thread runtime (inside a dedicated worker, with a nested worker sharing its memory) must give exactly
 * the single-thread results, and both must match the float64 JS references.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestPage, skipReason, type TestPage } from './harness/page.js';
import type { KernelThreadsResult } from './page/protocol.js';

/** float32 kernels against a float64 reference: a few ulps of the largest value (the kernels' own tolerance). */
const REL_TOL = 1e-5;

const skip = skipReason();

describe.skipIf(skip !== null)(`WASM kernel threads in headless Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let page: TestPage;
  let result: KernelThreadsResult;
  beforeAll(async () => {
    page = await openTestPage();
    result = await page.call('kernelThreads');
  });
  afterAll(async () => {
    await page?.close();
  });

  it('falls back to one thread on the main thread, with the reason (Atomics.wait cannot block there)', async () => {
    expect(result.mainThreadFallback).toMatch(/main thread/);
  });

  it('2 threads in a worker under crossOriginIsolated equal 1 thread (depthwise k3/k5, transposed, GEMM)', async () => {
    const { worker } = result;
    expect(worker.crossOriginIsolated).toBe(true);
    expect(worker.fallbackReason).toBeNull();
    expect(worker.threads).toBe(2);
    expect(worker.cases.length).toBe(4);
    for (const c of worker.cases) {
      // Both threads got rows in the last dispatch, so the nested worker really computed part of the output.
      expect(c.rangesUsed, `${c.label}: threads with work`).toBe(2);
      expect(c.threadedVsSingle.diff, `${c.label}: 2 threads vs 1`).toBe(0);
      expect(c.vsReference.scale, `${c.label}: reference all zeros`).toBeGreaterThan(0);
      expect(c.vsReference.diff, `${c.label}: vs JS reference (max |ref| ${c.vsReference.scale})`).toBeLessThanOrEqual(
        REL_TOL * Math.max(1, c.vsReference.scale),
      );
    }
    console.log(
      `kernels (relaxed SIMD ${worker.relaxedSimd}): ` +
        worker.cases.map((c) => `${c.label}: ${c.vsReference.diff.toExponential(1)}`).join('; '),
    );
    expect(page.errors).toEqual([]);
  });
});
