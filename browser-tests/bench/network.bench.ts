/**
 * Benchmark (not a test; runs only with MEDNEXT_BROWSER_BENCH=1, see README.md): one MedNeXt-B forward per
 * 1x4x128x160x112 patch in a browser worker (tfjs-wasm + the WebAssembly kernels, 2 threads), with and
 * without fused multiply-add, and in the same run the same forward in this Node process, with the ratio
 * browser / Node. `MEDNEXT_BROWSER_BENCH_PATCH=64x80x48` times a smaller patch.
 */
import { selectBackend } from '@mednext-ts/tensor3d';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestPage, skipReason, type TestPage } from '../harness/page.js';
import { benchNetwork } from '../page/network-bench.js';
import type { NetworkBenchRequest, NetworkTiming } from '../page/protocol.js';
import { loadavg } from 'node:os';

const PATCH = (process.env.MEDNEXT_BROWSER_BENCH_PATCH ?? '128x160x112').split('x').map(Number) as [
  number,
  number,
  number,
];
/** Timed forwards per call (after its warm-up), and rounds of Node / browser / browser-FMA calls, interleaved
 * so that a loaded machine's drift hits every engine alike. */
const REPEATS = Number(process.env.MEDNEXT_BROWSER_BENCH_REPEATS ?? 2);
const ROUNDS = Number(process.env.MEDNEXT_BROWSER_BENCH_ROUNDS ?? 1);

/** Pools the timed runs of several calls. */
function pool(calls: NetworkTiming[]): NetworkTiming {
  const runsMs = calls.flatMap((c) => c.runsMs);
  const sorted = [...runsMs].sort((a, b) => a - b);
  return { ...calls[0]!, runsMs, medianMs: sorted[sorted.length >> 1]!, firstMs: calls[0]!.firstMs };
}
const skip = skipReason();

describe.skipIf(skip !== null)('MedNeXt-B forward: browser worker vs Node', () => {
  let page: TestPage;
  beforeAll(async () => {
    page = await openTestPage();
  });
  afterAll(async () => {
    await page?.close();
  });

  it(`times one 1x4x${PATCH.join('x')} patch on 2 threads`, async () => {
    const request: NetworkBenchRequest = { preset: 'B', patch: PATCH, threads: 2, fma: false, repeats: REPEATS };
    const load = [loadavg()[0]!];
    await selectBackend('wasm', { fastKernels: false });
    const calls: { node: NetworkTiming[]; exact: NetworkTiming[]; fma: NetworkTiming[] } = {
      node: [],
      exact: [],
      fma: [],
    };
    for (let r = 0; r < ROUNDS; r++) {
      calls.node.push(await benchNetwork(request));
      calls.exact.push(await page.call('networkBench', request));
      calls.fma.push(await page.call('networkBench', { ...request, fma: true }));
      load.push(loadavg()[0]!);
    }
    const node = pool(calls.node);
    const browserExact = pool(calls.exact);
    const browserFma = pool(calls.fma);
    const line = (what: string, t: NetworkTiming) =>
      `${what}: median ${(t.medianMs / 1000).toFixed(2)} s (runs ${t.runsMs.map((m) => (m / 1000).toFixed(2)).join(', ')}; first call's warm-up ${(t.firstMs / 1000).toFixed(2)} s; ${(t.gflop / (t.medianMs / 1000)).toFixed(1)} GFLOP/s; ${t.threads} threads, FMA ${t.fma}, ${t.tfjsBackend}) browser/Node ${(t.medianMs / node.medianMs).toFixed(2)}`;
    console.log(
      [
        `MedNeXt-B k3, 1x4x${PATCH.join('x')} (${node.gflop.toFixed(1)} GFLOP), median of ${ROUNDS} round(s) x ${REPEATS} run(s), each call after 1 warm-up; load average ${load.map((l) => l.toFixed(1)).join(' -> ')}`,
        line('Node', node),
        line('Chromium worker, no FMA', browserExact),
        line('Chromium worker, FMA', browserFma),
      ].join('\n'),
    );
    expect(browserExact.threads).toBe(2);
    expect(node.threads).toBe(2);
  }, 600_000);
});
