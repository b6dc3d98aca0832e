// A QA check of an API's token handling: tokens minted by a local issuer, checked by
// express-oauth2-jwt-bearer, each rejection audited with its reason.
const express = require('express');
const request = require('supertest');
const { auth, requiredScopes } = require('express-oauth2-jwt-bearer');
const { authtrail } = require('@authtrail/express');
const { createTestAuditor, createTestIssuer, withToken } = require('@authtrail/jest');

const audit = createTestAuditor({ clock: new Date('2025-01-01T00:00:00Z'), ids: 'sequential' });
let issuer;
let app;

beforeAll(async () => {
  issuer = await createTestIssuer({ audience: 'https://orders.example', scope: 'orders:read' });
  app = express();
  app.use(authtrail({ auditor: audit.auditor }));
  app.use(auth({ issuerBaseURL: issuer.url, audience: issuer.audience }));
  app.get('/orders', requiredScopes('orders:read'), (req, res) => res.json([]));
  // Answer auth errors with their status and RFC 6750 challenge.
  app.use((err, req, res, _next) =>
    res
      .status(err.status ?? 500)
      .set(err.headers)
      .end(),
  );
});
afterAll(() => issuer.close());
beforeEach(() => audit.clear());

test.each([
  ['expired', 401, 'api.authn.failure', 'token_expired'],
  ['wrongAudience', 401, 'api.authn.failure', 'audience_mismatch'],
  ['wrongKey', 401, 'api.authn.failure', 'signature_invalid'],
  ['missingScope', 403, 'api.authz.failure', 'insufficient_scope'],
])('a %s token is rejected with %i and audited as %s %s', async (variant, status, type, reason) => {
  const token = await issuer[variant]({ sub: 'carol' });
  await withToken(request(app).get('/orders'), token).expect(status);
  await expect(audit).toHaveAuditEvent(type, {
    id: '00000000-0000-7000-8000-000000000001',
    time: '2025-01-01T00:00:00.000Z',
    reason,
    user: { id: 'carol' },
    http: { method: 'GET', path: '/orders', status },
  });
  await expect(audit).not.toHaveAuditEvent('api.access.success');
  await expect(audit).toHaveNoSecrets([token]);
});
