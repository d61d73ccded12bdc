import { defineProject } from 'vitest/config';

// Tests of the repository as a whole, as a user or a packager meets it: packed tarballs installed on their own,
// browser bundles, the nx build graph, the examples. They run built code (`npx tsc -b` first) and use the npm
// cache only (no network). One file at a time: they pack and install, and the machine may have two cores.
export default defineProject({
  test: {
    name: 'repo-tests',
    root: import.meta.dirname,
    include: ['*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
