// The kit against real servers: minted tokens checked by real verifiers, audited by each adapter.
import express, { type ErrorRequestHandler } from 'express';
import request from 'supertest';
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import Koa from 'koa';
import Fastify from 'fastify';
import { authtrail as expressAuthtrail } from '@authtrail/express';
import { authtrail as koaAuthtrail } from '@authtrail/koa';
import { authtrail as fastifyAuthtrail } from '@authtrail/fastify';
import {
  authtrailMatchers,
  bearer,
  createTestAuditor,
  createTestIssuer,
  withToken,
  type TestIssuer,
} from '@authtrail/jest';

expect.extend(authtrailMatchers);

const AUDIENCE = 'https://api.example.com';
let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer({ audience: AUDIENCE, scope: 'read:items' });
});
afterAll(() => issuer.close());

describe('Express with express-oauth2-jwt-bearer, tokens from createTestIssuer', () => {
  const audit = createTestAuditor();
  const app = express();
  app.use(expressAuthtrail({ auditor: audit.auditor }));
  beforeAll(() => {
    app.use(auth({ issuerBaseURL: issuer.url, audience: AUDIENCE }));
    app.get('/items', requiredScopes('read:items'), (_req, res) => res.json([]));
    app.use(((err, _req, res, _next) =>
      res
        .status(err.status ?? 500)
        .set(err.headers ?? {})
        .end()) as ErrorRequestHandler);
  });
  beforeEach(() => audit.clear());
  afterAll(async () => {
    await expect(audit).toHaveNoSecrets(); // nothing any test below sent reached the sink
    await audit.close();
  });

  test('the discovery document and the JWKS are served on 127.0.0.1', async () => {
    const meta = (await (await fetch(issuer.discoveryUrl)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({ issuer: issuer.url, jwks_uri: issuer.jwksUri });
    expect(issuer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const jwks = (await (await fetch(issuer.jwksUri)).json()) as { keys: unknown[] };
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: 'RSA', use: 'sig', alg: 'RS256' })]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  test('a valid token is accepted and logged as api.access.success, verified', async () => {
    await request(app)
      .get('/items')
      .set(bearer(await issuer.token({ sub: 'alice' })))
      .expect(200);
    await expect(audit).toHaveAuditEvent('api.access.success', {
      user: { id: 'alice' },
      client: { id: 'test-client' },
      oauth: {
        issuer: issuer.url,
        scope: ['read:items'],
        audience: [AUDIENCE],
        token: { verified: true, alg: 'RS256' },
      },
      http: { status: 200, route: '/items' },
    });
  });

  test.each([
    ['an expired token', 'expired', 401, 'api.authn.failure', 'token_expired'],
    [
      'a token for another audience',
      'wrongAudience',
      401,
      'api.authn.failure',
      'audience_mismatch',
    ],
    [
      'a token signed by a key not in the JWKS',
      'wrongKey',
      401,
      'api.authn.failure',
      'signature_invalid',
    ],
    ['a token without the scope', 'missingScope', 403, 'api.authz.failure', 'insufficient_scope'],
  ] as const)('%s is logged as %s %s', async (_name, variant, status, type, reason) => {
    await withToken(request(app).get('/items'), await issuer[variant]()).expect(status);
    await expect(audit).toHaveAuditEvent(type, { reason, http: { status } });
    await expect(audit).toHaveNoSecrets();
  });

  test('variants() mints one of each, all different', async () => {
    const all = Object.values(await issuer.variants({ sub: 'bob' }));
    expect(new Set(all).size).toBe(5);
    for (const token of all) await withToken(request(app).get('/items'), token);
    await expect(audit).toHaveAuditSequence([
      'api.access.success',
      { type: 'api.authn.failure', reason: 'token_expired' },
      { type: 'api.authn.failure', reason: 'audience_mismatch' },
      { type: 'api.authn.failure', reason: 'signature_invalid' },
      { type: 'api.authz.failure', reason: 'insufficient_scope' },
    ]);
  });
});

describe('the same test auditor works with the Koa and Fastify adapters', () => {
  test('Koa, with authtrail verifying against the issuer', async () => {
    const audit = createTestAuditor({ verify: issuer.verify });
    const app = new Koa();
    app.use(koaAuthtrail({ auditor: audit.auditor }));
    app.use((ctx) => {
      ctx.status = ctx.get('authorization') ? 200 : 401;
    });
    const server = app.listen(0, '127.0.0.1');
    try {
      await request(server)
        .get('/items')
        .set(bearer(await issuer.wrongKey()))
        .expect(200);
      await expect(audit).toHaveAuditEvent('api.access.success', {
        oauth: { token: { verified: false } },
        // The adapter that saw the request, not the test auditor's own label.
        observer: { adapter: 'koa' },
      });
      await expect(audit).toHaveNoSecrets();
    } finally {
      server.close();
    }
  });

  test('Fastify', async () => {
    const audit = createTestAuditor({ verify: issuer.verify });
    const app = Fastify();
    await app.register(fastifyAuthtrail, { auditor: audit.auditor });
    app.get('/items', async (_req, reply) => reply.code(401).send());
    await app.ready();
    await request(app.server)
      .get('/items')
      .set(bearer(await issuer.expired()))
      .expect(401);
    await expect(audit).toHaveAuditEvent('api.authn.failure', {
      reason: 'token_expired',
      observer: { adapter: 'fastify' },
    });
    await app.close();
  });
});
