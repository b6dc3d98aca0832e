/** One jest run for every package and the end-to-end suite. TypeScript is stripped by swc. */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
    // PGlite's CommonJS build loads Node's own modules with import(), which jest's module runner
    // refuses without --experimental-vm-modules; compiled to require() it runs as it does in Node.
    '[\\\\/]@electric-sql[\\\\/]pglite[\\\\/].+\\.c?js$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!@electric-sql/pglite/)'],
  // Tests may import TypeScript sources by their NodeNext names (`../src/redact.js`).
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  reporters: ['default', '<rootDir>/scripts/jest-summary.cjs'],
  testTimeout: 30000,
};
