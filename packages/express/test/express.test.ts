import { createServer, type Server } from 'node:http';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import express, { type ErrorRequestHandler } from 'express';
import request from 'supertest';
import { auth as bearerAuth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { createAuditor, memorySink, type Sink } from '@authtrail/core';
import { authtrail } from '@authtrail/express';

const keys = { fingerprint: 'fingerprint-key-for-tests-0123456789' };
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function signJwt(claims: Record<string, unknown>, key: KeyObject, kid = 'k1'): string {
  const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function setup(
  mount: (app: express.Express) => void,
  options: Parameters<typeof authtrail>[0] = {},
) {
  const sink = memorySink();
  const auditor = createAuditor({ sinks: [sink], keys, ...options });
  const app = express();
  app.use(authtrail({ auditor }));
  mount(app);
  return { app, sink, auditor };
}

describe('@authtrail/express', () => {
  test('audits a bearer-token request with one line, naming the matched route and the adapter', async () => {
    const sink = memorySink();
    const app = express();
    app.use(authtrail({ sinks: [sink], keys, service: 'orders' }));
    app.get('/orders/:id', (_req, res) => res.json({ ok: true }));
    const token = `${b64({ alg: 'RS256' })}.${b64({ sub: 'u1', scope: 'orders:read' })}.sig`;
    await request(app)
      .get('/orders/7?expand=items')
      .set('authorization', `Bearer ${token}`)
      .expect(200, { ok: true });
    await new Promise((r) => setImmediate(r));
    expect(sink.events).toEqual([
      expect.objectContaining({
        type: 'api.access.success',
        observer: expect.objectContaining({ role: 'rs', service: 'orders', adapter: 'express' }),
        user: { id: 'u1' },
        oauth: expect.objectContaining({ scope: ['orders:read'] }),
        http: expect.objectContaining({
          method: 'GET',
          route: '/orders/:id',
          path: '/orders/:id',
          query: 'expand=[redacted]',
          status: 200,
        }),
      }),
    ]);
  });

  test("source.ip is the socket's address, or the client's from X-Forwarded-For when the app trusts the proxy", async () => {
    const ipOf = async (trustProxy: boolean) => {
      const { app, sink, auditor } = setup((a) => {
        a.set('trust proxy', trustProxy);
        a.get('/api', (_req, res) => res.json({ ok: true }));
      });
      await request(app)
        .get('/api')
        .set('authorization', 'Bearer opaque-token')
        .set('x-forwarded-for', '203.0.113.9')
        .expect(200);
      await auditor.flush();
      return sink.events[0]?.source;
    };
    expect(await ipOf(false)).toEqual(
      expect.objectContaining({ ip: expect.stringMatching(/127\.0\.0\.1$|^::1$/) }),
    );
    expect(await ipOf(true)).toEqual(
      expect.objectContaining({ ip: '203.0.113.9', forwarded: ['203.0.113.9'] }),
    );
  });

  test('throws the typed startup error for broken options', () => {
    expect(() => authtrail({ sinks: 'stdout' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_AUTHTRAIL_INVALID_OPTIONS' }),
    );
  });

  test('exposes a recorder as req.audit for manual events', async () => {
    const { app, sink, auditor } = setup((a) =>
      a.post('/mfa', (req, res) => {
        req.audit.record({ type: 'authn.mfa_verify.success', user: { id: 'u9' } });
        res.sendStatus(204);
      }),
    );
    await request(app).post('/mfa').expect(204);
    await auditor.flush();
    expect(sink.events.map((e) => [e.type, e.user?.id])).toEqual([
      ['authn.mfa_verify.success', 'u9'],
    ]);
  });

  test('never changes the response, even when every sink throws', async () => {
    const broken: Sink = {
      name: 'broken',
      write: () => {
        throw new Error('boom');
      },
    };
    const auditor = createAuditor({ sinks: [broken], keys, delivery: { retries: 0 } });
    const app = express();
    app.use(authtrail({ auditor }));
    app.get('/x', (_req, res) => res.set('x-app', '1').status(201).send('made'));
    const res = await request(app).get('/x').set('authorization', 'Bearer abc').expect(201);
    expect(res.text).toBe('made');
    expect(res.headers['x-app']).toBe('1');
    await auditor.flush();
    expect(auditor.stats()).toMatchObject({ enqueued: 1, failed: 1 });
  });

  test('the error companion passes errors on untouched and gives the callback event its exact reason', async () => {
    const { app, sink, auditor } = setup((a) => {
      a.get('/callback', (_req, _res, next) =>
        next(
          Object.assign(new Error('invalid response encountered'), {
            status: 400,
            error: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
          }),
        ),
      );
      a.use(authtrail.errors());
      a.use(((err, _req, res, _next) =>
        res.status(err.status).json({ handled: err.error })) as ErrorRequestHandler);
    });
    await request(app)
      .get('/callback?code=c&state=s')
      .expect(400, { handled: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' });
    await auditor.flush();
    expect(sink.events.map((e) => [e.type, e.reason])).toEqual([
      ['authn.login.failure', 'id_token_invalid'],
    ]);
  });

  test('recognises custom relying-party paths', async () => {
    const { app, sink, auditor } = setup(
      (a) =>
        a.get('/auth/signin', (_req, res) =>
          res.redirect('https://op.example/authorize?client_id=shop&nonce=n'),
        ),
      { routes: { login: '/auth/signin' } },
    );
    await request(app).get('/auth/signin').expect(302);
    await auditor.flush();
    expect(sink.events.map((e) => [e.type, e.client?.id])).toEqual([
      ['authn.login_start.success', 'shop'],
    ]);
  });

  describe('with express-oauth2-jwt-bearer verifying tokens against a JWKS on 127.0.0.1', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    let jwks: Server;
    let jwksUri: string;
    beforeAll(async () => {
      jwks = createServer((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }],
          }),
        );
      });
      await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
      jwksUri = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks`;
    });
    afterAll(() => new Promise<void>((r) => jwks.close(() => r())));

    function api() {
      return setup((a) => {
        a.use(bearerAuth({ issuer: 'https://op.test', audience: 'https://api.test', jwksUri }));
        a.get('/items', requiredScopes('items:read'), (_req, res) => res.json([]));
        a.use(((err, _req, res, _next) =>
          res
            .status(err.status ?? 500)
            .set(err.headers ?? {})
            .end()) as ErrorRequestHandler);
      });
    }
    const claims = (extra: Record<string, unknown> = {}) => ({
      iss: 'https://op.test',
      aud: 'https://api.test',
      sub: 'u1',
      client_id: 'cli',
      scope: 'items:read',
      exp: Math.floor(Date.now() / 1000) + 60,
      ...extra,
    });

    test('logs the claims the verifier accepted as verified', async () => {
      const { app, sink, auditor } = api();
      await request(app)
        .get('/items')
        .set('authorization', `Bearer ${signJwt(claims(), privateKey)}`)
        .expect(200);
      await auditor.flush();
      expect(sink.events[0]).toMatchObject({
        type: 'api.access.success',
        user: { id: 'u1' },
        client: { id: 'cli' },
        oauth: { audience: ['https://api.test'], token: { verified: true, alg: 'RS256' } },
      });
    });

    test.each([
      [
        'a token signed by another key',
        'signature_invalid',
        () => signJwt(claims(), other.privateKey),
      ],
      [
        'a token for another audience',
        'audience_mismatch',
        () => signJwt(claims({ aud: 'https://other.test' }), privateKey),
      ],
      [
        'a token from another issuer',
        'issuer_mismatch',
        () => signJwt(claims({ iss: 'https://evil.test' }), privateKey),
      ],
      [
        'an expired token',
        'token_expired',
        () => signJwt(claims({ exp: Math.floor(Date.now() / 1000) - 600 }), privateKey),
      ],
      ['an unsigned token', 'alg_not_allowed', () => `${b64({ alg: 'none' })}.${b64(claims())}.`],
    ])('logs %s as api.authn.failure with reason %s, unverified', async (_name, reason, token) => {
      const { app, sink, auditor } = api();
      await request(app).get('/items').set('authorization', `Bearer ${token()}`).expect(401);
      await auditor.flush();
      expect(sink.events.map((e) => [e.type, e.reason, e.oauth?.token?.verified])).toEqual([
        ['api.authn.failure', reason, false],
      ]);
    });

    test('logs a missing scope as api.authz.failure with reason insufficient_scope', async () => {
      const { app, sink, auditor } = api();
      await request(app)
        .get('/items')
        .set('authorization', `Bearer ${signJwt(claims({ scope: 'other' }), privateKey)}`)
        .expect(403);
      await auditor.flush();
      expect(sink.events.map((e) => [e.type, e.reason, e.oauth?.token?.verified])).toEqual([
        ['api.authz.failure', 'insufficient_scope', true],
      ]);
    });
  });
});
