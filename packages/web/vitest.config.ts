import { defineProject } from 'vitest/config';

// Unit tests of the web app's plain modules (the page itself is tested in browser-tests/web-app.test.ts).
export default defineProject({
  test: {
    name: '@mednext-ts/web',
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
