// Jest runs our ESM TypeScript natively (node --experimental-vm-modules, see package.json):
// ts-jest only transpiles each file (tsconfig's isolatedModules; tsc checks types in `npm run typecheck`),
// and p-limit, which is ESM-only, is imported untransformed from node_modules.
// (ts-jest rather than @swc/jest, and Jest 29 rather than 30: both of the latter pull in
// per-platform native packages that `npm ci` cannot lock on a registry without every platform.)
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  // Sources import './x.js' (NodeNext); map back to the .ts file for Jest.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/src/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  testTimeout: 20000,
  maxWorkers: process.env.CI ? 2 : '50%',
};
