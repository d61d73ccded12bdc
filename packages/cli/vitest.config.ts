import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@mednext-ts/cli',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
