/**
 * Tests run the code exactly as it ships: unit tests transpile the sources with swc using the repo's .swcrc, the
 * same compiler and options that `npm run build` uses to emit dist/, which end-to-end tests load.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

// eslint-disable-next-line no-unused-vars -- $schema is for editors; @swc/jest writes its own inline source maps
const { $schema, sourceMaps, ...swcOptions } = JSON.parse(readFileSync(join(__dirname, '.swcrc'), 'utf8'));

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { ...swcOptions, swcrc: false }] },
  testTimeout: 60000,
  maxWorkers: 2,
};
