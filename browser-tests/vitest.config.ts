import { defineProject } from 'vitest/config';

// Browser tests: Node-side vitest files that drive headless Chromium (see README.md). One file at a time:
// each launches its own Chromium, and the machine has two cores. MEDNEXT_BROWSER_BENCH=1 runs the benchmark
// files (bench/*.bench.ts) instead of the tests.
const bench = process.env.MEDNEXT_BROWSER_BENCH === '1';

export default defineProject({
  test: {
    name: 'browser-tests',
    root: import.meta.dirname,
    include: bench ? ['bench/*.bench.ts'] : ['*.test.ts'],
    environment: 'node',
    globalSetup: ['./harness/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
