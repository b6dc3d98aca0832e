// Compile-time checks of the matcher types with `@jest/globals` (run by `tsc -p tsconfig.json` in
// `npm test`, never executed): jest's own `expect` must know the matchers as `@types/jest`'s does.
import { expect } from '@jest/globals';
import { createTestAuditor } from '@authtrail/jest';

export async function matchersOnJestGlobals(): Promise<void> {
  const audit = createTestAuditor();
  await expect(audit).toHaveAuditEvent('api.access.success', { user: { id: 'alice' } });
  await expect(audit).not.toHaveAuditEvent('api.authn.failure');
  await expect(audit).toHaveAuditSequence(['authn.login_start', { type: 'authn.login.success' }]);
  await expect(audit).toHaveNoSecrets(['s3cret', /token=\w+/]);
  // @ts-expect-error the event type is a string
  await expect(audit).toHaveAuditEvent(42);
  // @ts-expect-error steps are an array
  await expect(audit).toHaveAuditSequence('authn.login.success');
  // @ts-expect-error the matchers return promises: `await` them (no-floating-promises relies on it)
  const sync: void = expect(audit).toHaveNoSecrets();
  void sync;
}
