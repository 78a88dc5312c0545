import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  {
    // The sandbox and the test-support library are for tests: the API's tests may start it, the API itself never ships it
    // (the module boundaries allow the import for the project as a whole; this narrows it).
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.spec.ts', 'src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@keeper/lwa-sandbox', '@keeper/lwa-sandbox/*'],
              message: 'Only test files may import the LWA sandbox.',
            },
            {
              // The relative form too: the .mjs harnesses import its CommonJS files by path.
              group: [
                '@keeper/test-support',
                '@keeper/test-support/*',
                '**/libs/test-support/**',
              ],
              message: 'Only test files may import the test-support library.',
            },
          ],
        },
      ],
    },
  },
];
