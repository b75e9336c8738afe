// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    // Library code logs through shared/logger.ts; only entry points talk to the terminal.
    files: [
      'shared/**/*.ts',
      'host/**/*.ts',
      'agent/**/*.ts',
      'local/**/*.ts',
      'functions/**/*.ts',
      'orchestrations/**/*.ts',
    ],
    ignores: ['host/cli.ts', 'host/local.ts', 'agent/cli.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // App code never depends on the local host, the local stack, the agent or the CLI: it must deploy to Azure as it is.
    files: ['functions/**/*.ts', 'orchestrations/**/*.ts', 'shared/**/*.ts', 'index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/host/**', '**/local/**', '**/agent/**', '**/cli/**'],
              message: 'App code must not import the local host, the local stack, the agent or the CLI.',
            },
          ],
        },
      ],
    },
  },
  // Generated from the portal modules' JSDoc; test/unit/portal/declarations.test.ts keeps them current.
  { ignores: ['portal/**/*.d.ts'] },
  {
    // The portal's page (docs/portal.md): plain ES modules the browser runs as they are.
    files: ['portal/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'navigator',
          'sessionStorage',
          'fetch',
          'URL',
          'CSS',
          'Node',
          'Event',
          'SubmitEvent',
          'setInterval',
          'clearInterval',
          'setTimeout',
          'clearTimeout',
          'console',
        ].map((name) => [name, 'readonly']),
      ),
    },
    // The page logs nothing but real errors.
    rules: { 'no-console': ['error', { allow: ['error'] }] },
  },
  {
    // Orchestrations are replayed: no I/O, no wall clock, no randomness.
    files: ['orchestrations/**/*.ts'],
    ignores: ['orchestrations/**/activities.ts', 'orchestrations/**/*.activities.ts'],
    rules: {
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'fetch'],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use context.df.currentUtcDateTime in orchestrations.' },
        { object: 'Math', property: 'random', message: 'Orchestrations must be deterministic.' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'http', 'https', 'net', 'child_process', 'crypto'],
              message: 'No I/O in orchestrations.',
            },
            {
              group: ['@azure/storage-*', '@azure/data-tables'],
              message: 'Storage calls belong in activities.',
            },
          ],
        },
      ],
    },
  },
  prettier,
);
