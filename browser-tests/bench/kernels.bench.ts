/**
 * Benchmark (not a test; runs only with MEDNEXT_BROWSER_BENCH=1, see README.md): the WebAssembly kernels at
 * 1 and 2 threads inside a browser worker, and in the same run the same calls in this Node process (worker
 * threads), with the ratio browser / Node.
 */
import { wasmKernels } from '@mednext-ts/tensor3d';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestPage, skipReason, type TestPage } from '../harness/page.js';
import { benchKernels } from '../page/kernel-bench.js';

const SIDE = Number(process.env.MEDNEXT_BROWSER_BENCH_SIDE ?? 48);
const REPEATS = 5;
const skip = skipReason();

describe.skipIf(skip !== null)('WASM kernels: browser worker vs Node', () => {
  let page: TestPage;
  beforeAll(async () => {
    page = await openTestPage();
  });
  afterAll(async () => {
    await page?.close();
  });

  it(`times depthwise and GEMM on ${SIDE}^3 x 32 channels at 1 and 2 threads`, async () => {
    const { relaxedSimd, timings: browser } = await page.call('kernelBench', SIDE, REPEATS);
    const rt = await wasmKernels.createKernelRuntime({ threads: 2 });
    let node;
    const nodeRelaxed = rt.relaxedSimd;
    try {
      node = benchKernels(rt, SIDE, REPEATS);
    } finally {
      await rt.dispose();
    }
    const lines = browser.map((b, i) => {
      const n = node[i]!;
      const cells = Object.keys(b.msByThreads).map((t) => {
        const bm = b.msByThreads[t]!;
        const nm = n.msByThreads[t]!;
        return `${t} thr: browser ${bm.toFixed(1)} ms (${(b.gflop / (bm / 1e3)).toFixed(1)} GFLOP/s), Node ${nm.toFixed(1)} ms, browser/Node ${(bm / nm).toFixed(2)}`;
      });
      return `${b.label}: ${cells.join(' | ')}`;
    });
    console.log(
      `WASM kernels, median of ${REPEATS} (relaxed SIMD: browser ${relaxedSimd}, Node ${nodeRelaxed}):\n${lines.join('\n')}`,
    );
    expect(browser.length).toBe(node.length);
  }, 300_000);
});
