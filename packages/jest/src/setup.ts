// setupFilesAfterEnv entry: `setupFilesAfterEnv: ['@authtrail/jest/setup']` adds the matchers.
import { authtrailMatchers } from './matchers.js';
import type {} from './jest-matchers.js';

const expect = (globalThis as { expect?: { extend(matchers: object): void } }).expect;
if (typeof expect?.extend !== 'function') {
  throw new Error(
    '@authtrail/jest/setup must run inside jest: list it in setupFilesAfterEnv of your jest config',
  );
}
expect.extend(authtrailMatchers);
