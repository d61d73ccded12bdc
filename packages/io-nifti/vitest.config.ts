import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@mednext-ts/io-nifti',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
