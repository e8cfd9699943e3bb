// The conformance suite (npm run test:conformance): the product against a real
// kube-apiserver + etcd that globalSetup builds (scripts/test-servers.sh) and starts once per
// run, beside dev/kube. `npm test` never runs these files (jest.config.js ignores the folder).
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: ['<rootDir>/test/conformance/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/conformance/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/conformance/support/global-teardown.mjs',
};
