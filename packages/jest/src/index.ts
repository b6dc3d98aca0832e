export {
  createTestAuditor,
  type CaptureSink,
  type Flushable,
  type TestAuditor,
  type TestAuditorOptions,
} from './test-auditor.js';
export {
  authtrailMatchers,
  type AuditStep,
  type AuthtrailMatcherContext,
  type AuthtrailMatcherResult,
} from './matchers.js';
export type { AuditEventFields, AuditSequenceStep, AuthtrailMatchers } from './jest-matchers.js';
export { waitForAuditEvent, type WaitOptions } from './wait.js';
export {
  createTestIssuer,
  type TestIssuer,
  type TestIssuerOptions,
  type TestTokenClaims,
  type TestTokenVariants,
} from './issuer.js';
export { bearer, withToken } from './request.js';
export { mintedSecrets, rememberSecret } from './secrets.js';
