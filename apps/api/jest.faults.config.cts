/**
 * The fault suite (`npm run test:faults`): the built API as real processes, a PostgreSQL that is
 * stopped and restarted, processes killed with SIGKILL, Amazon (the sandbox) down, slow and
 * rate-limiting. Not part of `npm test` (apps/api/jest.config.cts leaves faults/ out): it needs
 * `nx build api` first and takes minutes. One file at a time: the cases measure timing on two
 * cores and must not compete with each other.
 */
module.exports = {
  displayName: 'api-faults',
  preset: '../../jest.preset.js',
  testEnvironment: 'node',
  rootDir: '.',
  roots: ['<rootDir>/faults'],
  testMatch: ['<rootDir>/faults/**/*.faults.spec.ts'],
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'html'],
  maxWorkers: 1,
  testTimeout: 240_000,
  // Each case prints its figures (for the README's Reliability table).
  verbose: true,
};
