/** A plain CommonJS jest project: the matchers come from the kit's setup entry. */
module.exports = {
  testEnvironment: 'node',
  setupFilesAfterEnv: ['@authtrail/jest/setup'],
  testTimeout: 30_000,
};
