import nx from '@nx/eslint-plugin';

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/out-tsc'],
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.js', '**/*.jsx'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: ['^.*/eslint(\\.base)?\\.config\\.[cm]?[jt]s$'],
          // What must never happen: the console importing the API or the crypto code,
          // a shared library importing an app's framework, the API shipping the sandbox
          // (only the API's tests start it in-process, as a test double).
          depConstraints: [
            {
              sourceTag: 'scope:api',
              onlyDependOnLibsWithTags: [
                'scope:api',
                'scope:shared',
                'type:test-double',
              ],
            },
            {
              // The bench and the e2e journey drive built processes; they may use any library.
              sourceTag: 'scope:tooling',
              onlyDependOnLibsWithTags: [
                'scope:shared',
                'type:test-double',
                'type:contracts',
              ],
            },
            {
              sourceTag: 'scope:console',
              onlyDependOnLibsWithTags: ['scope:console', 'type:contracts'],
            },
            {
              sourceTag: 'scope:sandbox',
              onlyDependOnLibsWithTags: ['scope:sandbox', 'scope:shared'],
            },
            {
              sourceTag: 'scope:shared',
              onlyDependOnLibsWithTags: ['scope:shared'],
            },
            {
              sourceTag: 'type:util',
              onlyDependOnLibsWithTags: ['type:util'],
              bannedExternalImports: [
                '@nestjs/*',
                '@angular/*',
                'typeorm',
                'rxjs',
              ],
            },
            {
              sourceTag: 'type:contracts',
              onlyDependOnLibsWithTags: [],
              bannedExternalImports: ['*'],
            },
          ],
        },
      ],
    },
  },
  {
    files: [
      '**/*.ts',
      '**/*.tsx',
      '**/*.cts',
      '**/*.mts',
      '**/*.js',
      '**/*.jsx',
      '**/*.cjs',
      '**/*.mjs',
    ],
    // Override or add rules here
    rules: {},
  },
  {
    // A promise nobody awaits fails silently (an unhandled rejection at best): every project's
    // TypeScript is checked with type information for that.
    files: ['**/*.ts', '**/*.cts', '**/*.mts'],
    // Jest's config files belong to no tsconfig; they hold no promises.
    ignores: [
      '**/jest.config.ts',
      '**/jest.config.cts',
      '**/jest.*.config.cts',
    ],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
];
