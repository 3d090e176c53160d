/** Unit and kernel tests run from source through swc; `tsc --noEmit` type-checks separately. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/manager', '<rootDir>/agent', '<rootDir>/cli', '<rootDir>/e2e', '<rootDir>/proto', '<rootDir>/packaging', '<rootDir>/deploy', '<rootDir>/vagrant'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 60000,
};
