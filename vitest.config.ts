import { defineConfig } from 'vitest/config';

// One vitest run over every workspace package; each package's own config (if any) applies to it.
export default defineConfig({
  test: {
    projects: [
      'packages/*/vitest.config.ts',
      'plugins/*/vitest.config.ts',
      'browser-tests/vitest.config.ts',
      'repo-tests/vitest.config.ts',
    ],
  },
});
