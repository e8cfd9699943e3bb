// ESM throughout: the package is "type": "module" and several dependencies
// (@kubernetes/client-node 2, middy) are ESM-only, so jest runs with
// --experimental-vm-modules (see package.json) and swc strips types only.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  // Source imports use the NodeNext ".js" suffix; map it back to the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // The conformance suite needs built servers: npm run test:conformance (jest.conformance.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/conformance/'],
  testTimeout: 60_000,
  // A planted secret value must never reach any output of the whole run.
  setupFilesAfterEnv: ['<rootDir>/test/support/canary-guard.ts'],
  reporters: ['default', '<rootDir>/test/support/plain-summary-reporter.cjs'],
  maxWorkers: 2,
};
