// Lint rules for every package. Type-aware rules are left out on purpose: `tsc -b`
// already type-checks, and type-aware linting would double the CI time on 2 cores.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.nx/**',
      '**/coverage/**',
      '**/*.d.ts',
      '**/generated/**',
      'mednext-demo/**',
      // the packed GPU benchmark (`npm run gpu-bench:pack`): bundled third-party code
      'gpu-bench/**',
      '.gpu-bench.partial-*/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
        globalThis: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  {
    // The browser-capable cores must not reach for Node built-ins; Node helpers live in `src/node/`.
    files: ['packages/io-nifti/src/**/*.ts', 'packages/metrics/src/**/*.ts', 'packages/optim-schedulefree/src/**/*.ts'],
    ignores: ['**/src/node/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*'], message: 'Node built-ins belong in src/node/ (the "./node" entry).' }] },
      ],
    },
  },
);
