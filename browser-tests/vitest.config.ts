import { defineProject } from 'vitest/config';

// Browser tests: Node-side vitest files that drive headless Chromium (see README.md). One file at a time:
// each launches its own Chromium, and the machine has two cores.
export default defineProject({
  test: {
    name: 'browser-tests',
    root: import.meta.dirname,
    include: ['*.test.ts'],
    environment: 'node',
    globalSetup: ['./harness/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
