module.exports = {
  displayName: 'api',
  preset: '../../jest.preset.js',
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'html'],
  // faults/ is the fault suite (`npm run test:faults`, apps/api/jest.faults.config.cts): built processes, minutes long.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/faults/'],
  coverageDirectory: '../../coverage/apps/api',
  globalSetup: '<rootDir>/test/test-environment.global-setup.ts',
  globalTeardown: '<rootDir>/test/test-environment.global-teardown.ts',
  // Integration tests start PostgreSQL-backed apps; give slow machines room.
  testTimeout: 30_000,
};
